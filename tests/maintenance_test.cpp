#include "pg/session.hpp"
#include "queue/pool.hpp"
#include "store/store.hpp"
#include "support.hpp"

using namespace std::chrono_literals;

namespace {


}  // namespace

TEST_SUITE("maintenance") {
  TEST_CASE("the promoter makes due jobs available, and only those") {
    auto pq = test::fresh();
    auto due = pq["p"].put("1", {.schedule_at = 1h});
    auto later = pq["p"].put("2", {.schedule_at = 1h});
    pq["other"].put("3", {.schedule_at = 1h});
    test::exec(pq, "update " + test::jobs_table(pq) + " set schedule_at = now() - interval '1 second' where id <> " +
                 std::to_string(later));
    CHECK(pq::Promoter(pq).run_once() == 2);
    CHECK(pq.job(due)->state == pq::JobState::available);
    CHECK(pq.job(later)->state == pq::JobState::scheduled);
    CHECK(pq::Promoter(pq).run_once() == 0);
  }

  TEST_CASE("the rescuer takes expired leases: retry while attempts remain, fail when none do") {
    auto pq = test::fresh();
    auto retry = pq["r"].put("1", {.max_attempts = 2});
    auto last = pq["r"].put("2", {.max_attempts = 1});
    auto live = pq["r"].put("3");
    auto lease = pq.shared()->pool.open();
    REQUIRE(pq::store::claim(*lease, "r", 3, std::chrono::seconds(60), "dead-worker").size() == 3);
    test::exec(pq, "update " + test::jobs_table(pq) + " set lease_until = now() - interval '1 second' where id in (" +
                 std::to_string(retry) + "," + std::to_string(last) + ")");
    auto rescued = pq::Rescuer(pq).run_once();
    CHECK(rescued.size() == 2);
    CHECK(pq.job(retry)->state == pq::JobState::scheduled);
    CHECK(pq.job(last)->state == pq::JobState::failed);
    CHECK(pq.job(live)->state == pq::JobState::running);
    auto errors = pq::Json::parse(pq.job(retry)->errors).as_array();
    REQUIRE(errors.size() == 1);
    CHECK(errors[0]["error"].as_string() == "lease expired");
    CHECK(errors[0]["worker"].as_string() == "dead-worker");
    CHECK(pq::Rescuer(pq).run_once().empty());
  }

  TEST_CASE("a late result from a rescued worker changes nothing") {
    auto pq = test::fresh();
    auto id = pq["late"].put("1");
    auto session = pq.shared()->pool.open();
    auto first = pq::store::claim(*session, "late", 1, std::chrono::seconds(60), "old-worker");
    REQUIRE(first.size() == 1);
    test::exec(pq, "update " + test::jobs_table(pq) + " set lease_until = now() - interval '1 second'");
    REQUIRE(pq::Rescuer(pq).run_once().size() == 1);
    REQUIRE(pq::Promoter(pq).run_once() == 1);
    auto second = pq::store::claim(*session, "late", 1, std::chrono::seconds(60), "new-worker");
    REQUIRE(second.size() == 1);
    CHECK(second[0].attempt == 2);
    pq::store::Held old;
    old.add(id, 1);
    CHECK(pq::store::complete_many(*session, old, "old-worker").empty());
    CHECK(pq::store::fail_many(*session, old, std::vector<std::string>{"late"}, "old-worker").empty());
    CHECK(pq::store::heartbeat(*session, old, "old-worker", std::chrono::seconds(60)).empty());
    // Even the same worker cannot finish the earlier attempt.
    pq::store::Held stale_attempt;
    stale_attempt.add(id, 1);
    CHECK(pq::store::complete_many(*session, stale_attempt, "new-worker").empty());
    auto job = pq.job(id);
    CHECK(job->state == pq::JobState::running);
    CHECK(job->locked_by == "new-worker");
    pq::store::Held current;
    current.add(id, 2);
    CHECK(pq::store::complete_many(*session, current, "new-worker").size() == 1);
  }

  TEST_CASE("the pruner deletes finished jobs past their retention, keeping failed ones longer") {
    auto pq = test::fresh();
    for (int i = 0; i < 3; ++i) pq["old"].put(std::to_string(i));
    while (pq["old"].get(0s)) {
    }
    auto failed = pq["old"].put("9");
    test::exec(pq, "update " + test::jobs_table(pq) +
                 " set state = 'failed', finished_at = now(), attempt = 1 where id = " + std::to_string(failed));
    test::exec(pq, "update " + test::jobs_table(pq) + " set finished_at = now() - interval '8 days'");
    pq["old"].put(R"("waiting")");
    CHECK(pq::Pruner(pq, pq::Days(7), pq::Days(30)).run_once() == 3);
    CHECK(pq.job(failed).has_value());
    test::exec(pq, "update " + test::jobs_table(pq) + " set finished_at = now() - interval '31 days' where id = " +
                 std::to_string(failed));
    CHECK(pq::Pruner(pq, pq::Days(7), pq::Days(30)).run_once() == 1);
    CHECK(pq["old"].size() == 1);
  }

  TEST_CASE("leadership: one leader at a time, renewed by its holder, taken over when it lapses or resigns") {
    auto pq = test::fresh();
    pq::Leader a(pq, "a", 300ms);
    pq::Leader b(pq, "b", 300ms);
    CHECK(a.try_acquire());
    CHECK_FALSE(b.try_acquire());
    CHECK(a.try_acquire());
    CHECK(test::wait_until([&] { return b.try_acquire(); }, 10s));  // a stopped renewing
    CHECK_FALSE(a.try_acquire());
    b.resign();
    CHECK(a.try_acquire());
  }

  TEST_CASE("two schedulers: only one leads and acts") {
    auto pq = test::fresh();
    test::LogCapture log_a;
    test::LogCapture log_b;
    pq::Scheduler a(pq, {.interval = 50ms, .leader_ttl = 1s, .handle_signals = false, .id = "sched-a",
                         .log = log_a.sink()});
    pq::Scheduler b(pq, {.interval = 50ms, .leader_ttl = 1s, .handle_signals = false, .id = "sched-b",
                         .log = log_b.sink()});
    CHECK(a.run_once());
    CHECK_FALSE(b.run_once());
    auto id = pq["s"].put("1", {.schedule_at = 1h});
    test::exec(pq, "update " + test::jobs_table(pq) + " set schedule_at = now()");
    CHECK_FALSE(b.run_once());
    CHECK(pq.job(id)->state == pq::JobState::scheduled);
    CHECK(a.run_once());
    CHECK(pq.job(id)->state == pq::JobState::available);
    CHECK(log_a.contains("sched-a is the leader"));
    CHECK(log_b.contains("sched-b stands by"));
  }

  TEST_CASE("absurd maintenance options are refused") {
    auto pq = test::fresh();
    CHECK_THROWS_AS(pq::Promoter(pq, 0), pq::UsageError);
    CHECK_THROWS_AS(pq::Pruner(pq, -1s, 1s), pq::UsageError);
    CHECK_THROWS_AS(pq::Scheduler(pq, {.interval = 1s, .leader_ttl = 1s}), pq::UsageError);
    CHECK_THROWS_AS(pq::Worker(pq, {.concurrency = 0}), pq::UsageError);
    CHECK_THROWS_AS(pq::Worker(pq, {.lease = 1ms}), pq::UsageError);
    pq::Worker nothing(pq, {.handle_signals = false});
    CHECK_THROWS_WITH_AS(nothing.run(), doctest::Contains("the worker has no queues"), pq::UsageError);
  }
}
