// Claims that start after a place in dequeue order (sql/queue/claim.sql): what a worker does so that it does
// not read the dead index entries of the jobs it claimed before while the xmin horizon is held back.
#include <atomic>
#include <thread>

#include "pg/session.hpp"
#include "pg/statements.hpp"
#include "store/admin.hpp"
#include "store/store.hpp"
#include "support.hpp"

using namespace std::chrono_literals;

namespace {

auto session_for(const pq::PQ& pq) -> pq::pg::Session {
  pq::pg::Session session(test::server().url());
  session.attach(std::make_shared<const pq::pg::Statements>(session, pq.options().schema), true);
  return session;
}

// A session that holds the xmin horizon back with a REPEATABLE READ snapshot, named `name` in
// pg_stat_activity, until it is destroyed.
class Holder {
 public:
  Holder(const pq::PQ& pq, const std::string& name) : session_(test::server().url()) {
    session_.exec("SET application_name = " + test::literal(name), {}, pq::pg::Format::text);
    session_.exec("BEGIN ISOLATION LEVEL REPEATABLE READ", {}, pq::pg::Format::text);
    session_.exec("SELECT count(*) FROM " + test::jobs_table(pq), {}, pq::pg::Format::text);
  }
  ~Holder() { session_.exec("ROLLBACK", {}, pq::pg::Format::text); }
  Holder(const Holder&) = delete;
  auto operator=(const Holder&) -> Holder& = delete;

 private:
  pq::pg::Session session_;
};

// `count` jobs of `queue` put and completed: dead entries at the head of the claim index that no vacuum can
// remove while a Holder lives, which every claim from the head reads.
void bury_head(pq::PQ& pq, const std::string& queue, int count) {
  const auto jobs = test::jobs_table(pq);
  test::exec(pq, "insert into " + jobs + " (queue, data) select " + test::literal(queue) +
                     ", '{}' from generate_series(1, " + std::to_string(count) + ")");
  test::exec(pq, "update " + jobs + " set " + test::kCompleted + " where queue = " + test::literal(queue));
}

// Jobs run one at a time, so that a worker claims from the head and from its place in turn until it has
// measured both and spaces the claims from the head out.
template <class Task>
void one_at_a_time(pq::PQ& pq, Task& task) {
  for (int i = 0; i < 4; ++i) {
    const auto ahead = task.push();
    REQUIRE(test::wait_until([&] { return test::state_of(pq, ahead) == pq::JobState::completed; }, 60s));
  }
}

}  // namespace

TEST_SUITE("claim key") {
  TEST_CASE("claims that each start after the last job claimed take every job once, in dequeue order") {
    auto pq = test::fresh();
    const auto jobs = test::jobs_table(pq);
    // Every edge of the key: the lowest priority, expected_at unset, in the past, at -infinity, ties of both.
    test::exec(pq, "insert into " + jobs + " (queue, data, priority, expected_at) "
                   "select 'k', '{}', (array[-32768, -1, 0, 0, 7])[1 + g % 5], "
                   "(array[null, now() - interval '1 day', now() + (g % 3) * interval '1 hour', "
                   "'-infinity'::timestamptz])[1 + g % 4] from generate_series(1, 200) g");
    const auto order = test::scalar(pq, "select string_agg(id::text, ',' order by priority, "
                                        "coalesce(expected_at, 'infinity'), id) from " + jobs);
    auto session = session_for(pq);
    std::optional<pq::store::ClaimKey> after;
    std::string claimed;
    for (int round = 0; round < 200; ++round) {
      auto batch = pq::store::claim(session, "k", 3, 30s, "keyed", nullptr, nullptr, after ? &*after : nullptr);
      if (batch.empty()) break;
      std::sort(batch.begin(), batch.end(), [](const pq::Job& a, const pq::Job& b) {
        return pq::store::ClaimKey::of(a) < pq::store::ClaimKey::of(b);
      });
      for (const auto& job : batch) claimed += (claimed.empty() ? "" : ",") + std::to_string(job.id);
      after = pq::store::ClaimKey::of(batch.back());
    }
    CHECK(claimed == order);
    CHECK(test::scalar(pq, "select count(*) from " + jobs + " where state = 'running'") == "200");
  }

  TEST_CASE("a claim after a key skips the jobs before it, and one from the head finds them") {
    auto pq = test::fresh();
    auto queue = pq["skip"];
    const auto first = queue.put("{}");
    const auto second = queue.put("{}");
    const auto urgent = queue.put("{}", {.priority = -5});
    auto session = session_for(pq);
    const pq::store::ClaimKey after{0, pq::TimePoint::max(), first};
    auto batch = pq::store::claim(session, "skip", 10, 30s, "keyed", nullptr, nullptr, &after);
    REQUIRE(batch.size() == 1);
    CHECK(batch[0].id == second);
    batch = pq::store::claim(session, "skip", 10, 30s, "keyed");
    REQUIRE(batch.size() == 2);
    CHECK(batch[0].id + batch[1].id == first + urgent);
  }

  TEST_CASE("a notification says which jobs may sort before a worker's place") {
    using pq::pg::Notified;
    for (const Notified& notified : {Notified{"q", false, 42}, Notified{"q", true, 0}, Notified{"a b", false, 1}}) {
      const auto back = pq::pg::parse_payload(pq::pg::wake_payload(notified));
      CHECK(back.queue == notified.queue);
      CHECK(back.before == notified.before);
      if (!notified.before) CHECK(back.first_id == notified.first_id);
    }
    CHECK(pq::pg::wake_payload({"q", false, 42}) == "q\t42");
    CHECK(pq::pg::wake_payload({"q", true, 42}) == "q\tbefore");
    // What pq does not write counts as jobs that may sort anywhere.
    for (const char* payload : {"q", "q\t", "q\t12x", "q\tbefore"}) {
      CAPTURE(payload);
      CHECK(pq::pg::parse_payload(payload).before);
      CHECK(pq::pg::parse_payload(payload).queue == "q");
    }
    std::vector<Notified> pending;
    pq::pg::add_notified(pending, {"q", false, 9});
    pq::pg::add_notified(pending, {"r", false, 5});
    pq::pg::add_notified(pending, {"q", false, 3});
    REQUIRE(pending.size() == 2);
    CHECK(pending[0].first_id == 3);
    CHECK_FALSE(pending[0].before);
    pq::pg::add_notified(pending, {"r", true, 0});
    CHECK(pending[1].before);
  }

  TEST_CASE("the session holding the horizon back is named") {
    auto pq = test::fresh();
    auto session = session_for(pq);
    {
      Holder holder(pq, "horizon-holder-test");
      const auto named = pq::store::admin::horizon_holder(session);
      REQUIRE(named);
      CAPTURE(*named);
      CHECK(named->find("horizon-holder-test") != std::string::npos);
      CHECK(named->find("idle in transaction") != std::string::npos);
      CHECK(named->find("transactions behind") != std::string::npos);
    }
    const auto named = pq::store::admin::horizon_holder(session);
    CHECK_FALSE((named && named->find("horizon-holder-test") != std::string::npos));
  }

  TEST_CASE("with the horizon held, a job put with a priority runs at once: its notification says it sorts first") {
    auto pq = test::fresh({.poll_interval = 600s});
    Holder holder(pq, "held");
    bury_head(pq, "held", 200000);
    std::atomic<int> ran{0};
    auto task = pq["held"].task("job", [&] { ++ran; });
    test::LogCapture log;
    pq::Worker worker(pq, {.queues = {"held"}, .concurrency = 1, .handle_signals = false, .log = log.sink()});
    std::thread running([&] { worker.run(); });
    one_at_a_time(pq, task);
    // Sorts before the jobs just run, where claims from the worker's place never look; the next claim from
    // the head that is due anyway is a thousand times its extra cost away (tens of seconds here).
    const auto urgent = task.push(pq::PushOptions{.priority = -1});
    CHECK(test::wait_until([&] { return test::state_of(pq, urgent) == pq::JobState::completed; }, 15s));
    worker.stop();
    running.join();
    CHECK(ran == 5);
  }

  TEST_CASE("with the horizon held, a take rolled back says so, and a worker claims the job at once") {
    auto pq = test::fresh({.poll_interval = 600s});
    Holder holder(pq, "held");
    bury_head(pq, "undone", 200000);
    std::atomic<int> ran{0};
    auto task = pq["undone"].task("job", [&] { ++ran; });
    test::LogCapture log;
    pq::Worker worker(pq, {.queues = {"undone"}, .concurrency = 1, .handle_signals = false, .log = log.sink()});
    std::thread running([&] { worker.run(); });
    one_at_a_time(pq, task);
    // Put without a notification, so that the worker does not claim it before the take below.
    const auto taken = std::stoll(test::scalar(pq, "insert into " + test::jobs_table(pq) + " (queue, kind, data) "
                                                   "values ('undone', 'job', '{\"args\": []}') returning id"));
    std::optional<pq::Transaction> taking{pq.begin()};
    REQUIRE(pq["undone"].get(*taking, 0s)->id == taken);
    const auto behind = task.push();  // claimed past the taken one: the worker's place is after it
    REQUIRE(test::wait_until([&] { return test::state_of(pq, behind) == pq::JobState::completed; }, 60s));
    taking.reset();
    // The next claim from the head that is due anyway is a thousand times its extra cost away.
    CHECK(test::wait_until([&] { return test::state_of(pq, taken) == pq::JobState::completed; }, 15s));
    worker.stop();
    running.join();
    CHECK(ran == 6);
  }

  TEST_CASE("with the horizon held, a job back from a rolled-back take is found by a later claim from the head") {
    auto pq = test::fresh();
    auto queue = pq["back"];
    Holder holder(pq, "held");
    bury_head(pq, "back", 20000);
    std::atomic<int> ran{0};
    auto task = queue.task("job", [&] { ++ran; });
    const auto behind = task.push();
    std::optional<pq::Transaction> taking{pq.begin()};
    REQUIRE(queue.get(*taking, 0s)->id == behind);  // locked: the worker's first claim passes it
    const auto ahead = task.push();
    test::LogCapture log;
    pq::Worker worker(pq, {.queues = {"back"}, .concurrency = 1, .handle_signals = false, .log = log.sink()});
    std::thread running([&] { worker.run(); });
    REQUIRE(test::wait_until([&] { return test::state_of(pq, ahead) == pq::JobState::completed; }, 60s));
    taking.reset();  // rolled back: available again, before the worker's place, and no NOTIFY says so
    CHECK(test::wait_until([&] { return test::state_of(pq, behind) == pq::JobState::completed; }, 120s));
    worker.stop();
    running.join();
    CHECK(ran == 2);
  }
}
