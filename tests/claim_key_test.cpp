// Claims that start after a place in dequeue order (sql/queue/claim.sql): what a worker does so that it does
// not read the dead index entries of the jobs it claimed before while the xmin horizon is held back.
#include <atomic>
#include <limits>
#include <thread>

#include "pg/session.hpp"
#include "pg/statements.hpp"
#include "store/admin.hpp"
#include "store/store.hpp"
#include "support.hpp"
#include "worker/places.hpp"
#include "worker/scout.hpp"

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
auto job_at(int priority, std::int64_t id) -> pq::Job {
  pq::Job job;
  job.priority = priority;
  job.id = id;
  return job;
}

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

  using pq::worker::Places;
  using Origin = Places::Origin;

  auto found(double took, std::vector<pq::Job> jobs, int wanted) -> Places::Claim {
    return Places::Claim::of(took, jobs, wanted);
  }

  // Claims from the head at 60 ms against 1 ms from the place: from then on they go to the scout.
  void space_out(Places& places, Places::Clock::time_point now, std::int64_t id) {
    places.claimed("q", Origin::head, found(0.001, {job_at(0, id)}, 1), now);
    places.claimed("q", Origin::place, found(0.001, {job_at(0, id)}, 1), now);
    for (int i = 0; i < 40; ++i) places.claimed("q", Origin::head, found(0.060, {job_at(0, id)}, 1), now);
  }

  TEST_CASE("claims alternate between head and place while both cost the same, and space the head out after") {
    const auto t0 = Places::Clock::now();
    Places places;
    CHECK(places.start("q", t0).after == nullptr);  // no place yet
    CHECK_FALSE(places.start("q", t0).scout);
    CHECK_FALSE(places.claimed("q", Origin::head, found(0.002, {job_at(0, 10)}, 1), t0));
    const auto* after = places.start("q", t0).after;
    REQUIRE(after != nullptr);
    CHECK(after->id == 10);
    CHECK_FALSE(places.claimed("q", Origin::place, found(0.002, {job_at(0, 11)}, 1), t0));
    CHECK(places.start("q", t0).after == nullptr);  // both cost the same: the head again
    // Dead entries pile up at the head: its claims cost 50 ms more.
    for (int i = 0; i < 40; ++i) places.claimed("q", Origin::head, found(0.052, {job_at(0, 12 + i)}, 1), t0);
    REQUIRE(places.start("q", t0).after != nullptr);
    // Short: jobs may wait before the place.
    CHECK_FALSE(places.claimed("q", Origin::place, found(0.002, {}, 5), t0));
    const auto early = places.start("q", t0 + std::chrono::seconds(10));
    CHECK(early.after != nullptr);
    CHECK_FALSE(early.scout);
    const auto due = places.head_wanted();
    REQUIRE(due);
    CHECK(*due > t0 + std::chrono::seconds(10));
    // Due: the claim from the head goes to the scout, and the fetcher goes on from its place.
    const auto start = places.start("q", *due);
    CHECK(start.scout);
    CHECK(start.scout_after == nullptr);
    REQUIRE(start.after != nullptr);
    CHECK(start.after->id == 51);
    CHECK_FALSE(places.start("q", *due).scout);  // one at a time
    CHECK_FALSE(places.head_wanted());           // nothing to wake up for while it is out
    const auto spaced_by = places.claimed("q", Origin::scout, found(0.052, {}, 5), *due);
    REQUIRE(spaced_by);
    CHECK(*spaced_by > 0.04);
    CHECK_FALSE(places.head_wanted());  // the head was just claimed from
    CHECK_FALSE(places.start("q", *due).scout);
  }

  TEST_CASE("the scout goes on from where a full claim stopped before the place, and the place stays") {
    const auto t0 = Places::Clock::now();
    Places places;
    space_out(places, t0, 1000);
    places.put_back();  // jobs back in the queue with old ids
    auto start = places.start("q", t0);
    REQUIRE(start.scout);
    CHECK(start.scout_after == nullptr);
    places.claimed("q", Origin::scout, found(0.060, {job_at(0, 5), job_at(0, 7)}, 2), t0);
    CHECK(places.head_wanted() == std::optional(Places::Clock::time_point{}));  // at once: more may wait
    start = places.start("q", t0);
    REQUIRE(start.scout);
    REQUIRE(start.scout_after != nullptr);
    CHECK(start.scout_after->id == 7);
    CHECK(start.after->id == 1000);  // the fetcher never reads what lies between
    // It found fewer than it wanted: nothing more waits before the place, and the next is spaced out.
    places.claimed("q", Origin::scout, found(0.001, {job_at(0, 9)}, 2), t0);
    CHECK_FALSE(places.start("q", t0).scout);
    CHECK(places.start("q", t0).after->id == 1000);
    // A full claim that ended at the place it was sent up to left nothing behind; nor does the fetcher's
    // going on meanwhile leave anything between.
    places.put_back();
    REQUIRE(places.start("q", t0).scout);
    places.claimed("q", Origin::place, found(0.001, {job_at(0, 1500)}, 1), t0);
    places.claimed("q", Origin::scout, found(0.060, {job_at(0, 990), job_at(0, 1000)}, 2), t0);
    CHECK_FALSE(places.head_wanted());
    CHECK_FALSE(places.start("q", t0).scout);
    CHECK(places.start("q", t0).after->id == 1500);
  }

  TEST_CASE("a notification while the scout is out sends the next claim to the head once it is back") {
    const auto t0 = Places::Clock::now();
    Places places;
    space_out(places, t0, 1000);
    places.put_back();
    REQUIRE(places.start("q", t0).scout);
    places.heed({"q", true, 0});  // committed after the scout's claim began, perhaps
    CHECK_FALSE(places.start("q", t0).scout);
    places.claimed("q", Origin::scout, found(0.060, {job_at(0, 5), job_at(0, 7)}, 2), t0);
    const auto start = places.start("q", t0);
    CHECK(start.scout);
    CHECK(start.scout_after == nullptr);  // from the head, not from where the last one stopped
  }

  TEST_CASE("a notification moves the place back before the jobs it announces, or sends the next claim to the head") {
    const auto t0 = Places::Clock::now();
    Places places;
    space_out(places, t0, 100);
    places.claimed("q", Origin::place, found(0.001, {job_at(0, 101)}, 1), t0);
    REQUIRE(places.start("q", t0).after != nullptr);
    places.heed({"q", false, 200});  // after the place: nothing changes
    CHECK(places.start("q", t0).after->id == 101);
    places.heed({"q", false, 50});  // committed late, with lower ids than jobs claimed since
    CHECK(places.start("q", t0).after->id == 49);
    places.heed({"other", true, 0});
    CHECK_FALSE(places.start("q", t0).scout);
    places.heed({"q", true, 0});  // a priority of their own, a promotion: the head
    CHECK(places.start("q", t0).scout);
    places.claimed("q", Origin::scout, found(0.060, {job_at(0, 30)}, 2), t0);
    CHECK(places.start("q", t0).after->id == 49);  // the scout's claims end at the place: it stays
    places.claimed("q", Origin::place, found(0.001, {job_at(5, 300)}, 1), t0);
    CHECK(places.start("q", t0).after->id == 300);
    places.heed({"q", false, 400});  // priority 0 sorts before a place of priority 5
    CHECK(places.start("q", t0).scout);
    places.claimed("q", Origin::scout, found(0.060, {job_at(0, 500)}, 2), t0);
    CHECK_FALSE(places.start("q", t0).scout);
    CHECK(places.start("q", t0).after->priority == 5);
    places.put_back();
    CHECK(places.start("q", t0).scout);
  }

  TEST_CASE("the scout claims on a session of its own, hands the jobs out and gives its slots back") {
    auto base = test::fresh();
    pq::PQ pq{test::tagged(test::server().url(), "scout-claims"), base.options()};
    const auto first = base["scouted"].put("{}");
    const auto second = base["scouted"].put("{}");
    const auto third = base["scouted"].put("{}");
    const auto fourth = base["scouted"].put("{}");  // after the fetcher's place: never the scout's
    const pq::store::ClaimKey place{0, pq::TimePoint::max(), third};
    test::LogCapture log;
    auto shared = std::make_shared<pq::worker::Shared>(
        pq, pq::WorkerOptions{.queues = {"scouted"}, .handle_signals = false, .log = log.sink()});
    shared->kinds["scouted"] = {""};
    pq::worker::Scout scout(shared);
    std::vector<pq::worker::Scout::Report> reports;
    const auto reported = [&] {
      for (auto& report : scout.reports()) reports.push_back(std::move(report));
      return !reports.empty();
    };
    const auto in_hand = [&] {
      std::lock_guard lock(shared->mutex);
      return shared->in_hand();
    };

    scout.ask({"scouted", 2, std::nullopt, place, {}});
    CHECK(in_hand() == 2);  // reserved, then handed out: the worker never claims past its slots meanwhile
    REQUIRE(test::wait_until(reported));
    REQUIRE(reports.size() == 1);
    CHECK(reports[0].queue == "scouted");
    CHECK(reports[0].claim.got == 2);
    REQUIRE(reports[0].claim.last);
    CHECK(reports[0].claim.last->id == second);
    {
      std::lock_guard lock(shared->mutex);
      CHECK(shared->scouting == 0);
      REQUIRE(shared->ready.size() == 2);
      CHECK(shared->ready[0]->job.id + shared->ready[1]->job.id == first + second);
    }
    CHECK(test::state_of(base, first) == pq::JobState::running);

    // Its session dies between two claims: the next claim waits for a new one, and goes out on it.
    CHECK(test::scalar(base, "select count(pg_terminate_backend(pid, 10000)) from pg_stat_activity "
                             "where application_name = 'scout-claims'") == "1");
    reports.clear();
    scout.ask({"scouted", 5, pq::store::ClaimKey{0, pq::TimePoint::max(), second}, place, {}});
    REQUIRE(test::wait_until(reported, 30s));
    CHECK(reports[0].claim.got == 1);
    CHECK(reports[0].claim.last->id == third);
    CHECK(test::state_of(base, fourth) == pq::JobState::available);
    CHECK(log.contains("claims from the head of queue scouted"));
    CHECK(in_hand() == 3);
  }

  TEST_CASE("a scout that stops with a claim in flight hands its jobs out, and gives back the slots of the rest") {
    auto base = test::fresh();
    pq::PQ pq{test::tagged(test::server().url(), "scout-stops"), base.options()};
    for (int i = 0; i < 4; ++i) base["stops"].put("{}");
    test::LogCapture log;
    auto shared = std::make_shared<pq::worker::Shared>(
        pq, pq::WorkerOptions{.queues = {"stops"}, .handle_signals = false, .log = log.sink()});
    shared->kinds["stops"] = {""};
    auto scout = std::make_unique<pq::worker::Scout>(shared);
    auto locker = base.begin();
    locker.exec("lock table " + test::jobs_table(base) + " in exclusive mode");
    const pq::store::ClaimKey end{pq::kMaxPriority, pq::TimePoint::max(), std::numeric_limits<std::int64_t>::max()};
    scout->ask({"stops", 2, std::nullopt, end, {}});
    scout->ask({"stops", 3, std::nullopt, end, {}});
    REQUIRE(test::wait_until([&] {
      return test::scalar(base, "select count(*) from pg_stat_activity where application_name = 'scout-stops' "
                                "and wait_event_type = 'Lock'") == "1";
    }));
    std::thread stopping([&] { scout.reset(); });
    std::this_thread::sleep_for(200ms);  // into the destructor, which waits for the claim
    locker.rollback();
    stopping.join();
    std::lock_guard lock(shared->mutex);
    CHECK(shared->scouting == 0);
    CHECK(shared->in_hand() == shared->ready.size());
    CHECK(shared->ready.size() == 2);  // the first claim only: the second was never sent
    CHECK(test::scalar(base, "select count(*) from " + test::jobs_table(base) + " where state = 'running'") == "2");
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
