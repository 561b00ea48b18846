// Claims that start after a place in dequeue order (sql/queue/claim.sql): what a worker does so that it does
// not read the dead index entries of the jobs it claimed before while the xmin horizon is held back.
#include <atomic>

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
    const pq::store::ClaimKey after{0, std::nullopt, first};
    auto batch = pq::store::claim(session, "skip", 10, 30s, "keyed", nullptr, nullptr, &after);
    REQUIRE(batch.size() == 1);
    CHECK(batch[0].id == second);
    batch = pq::store::claim(session, "skip", 10, 30s, "keyed");
    REQUIRE(batch.size() == 2);
    CHECK(batch[0].id + batch[1].id == first + urgent);
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

  TEST_CASE("with the horizon held, a worker still runs a job put before its place, without waiting for the poll") {
    auto pq = test::fresh({.poll_interval = 300s});
    const auto jobs = test::jobs_table(pq);
    Holder holder(pq, "held");
    // Dead index entries at the head of the claim index that no vacuum can remove while the holder lives:
    // every claim from the head reads them, so the worker claims from its place between claims from the head.
    test::exec(pq, "insert into " + jobs + " (queue, data) select 'held', '{}' from generate_series(1, 50000)");
    test::exec(pq, "update " + jobs + " set " + test::kCompleted + " where queue = 'held'");
    std::atomic<int> ran{0};
    auto task = pq["held"].task("job", [&] { ++ran; });
    test::LogCapture log;
    pq::Worker worker(pq, {.queues = {"held"}, .concurrency = 1, .handle_signals = false, .log = log.sink()});
    std::thread running([&] { worker.run(); });
    const auto ahead = task.push();
    REQUIRE(test::wait_until([&] { return test::state_of(pq, ahead) == pq::JobState::completed; }, 30s));
    // Sorts before the job just run, where claims from the worker's place never look.
    const auto behind = task.push(pq::PushOptions{.priority = -1});
    const auto started = std::chrono::steady_clock::now();
    CHECK(test::wait_until([&] { return test::state_of(pq, behind) == pq::JobState::completed; }, 60s));
    MESSAGE("the job put before the worker's place ran after "
            << std::chrono::duration_cast<std::chrono::milliseconds>(std::chrono::steady_clock::now() - started).count()
            << " ms");
    worker.stop();
    running.join();
    CHECK(ran == 2);
  }
}
