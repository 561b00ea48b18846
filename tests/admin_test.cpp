#include <future>
#include <thread>

#include "support.hpp"

using namespace std::chrono_literals;

TEST_SUITE("admin") {
  TEST_CASE("stats count each queue's jobs by state") {
    auto pq = test::fresh();
    pq::Admin admin{pq};
    CHECK(admin.stats().empty());
    auto apples = pq["apples"];
    apples.put("1");
    apples.put("2");
    apples.put("3", {.schedule_at = 1h});
    test::force_job(pq, apples.put("4"), test::kRunning);
    test::force_job(pq, apples.put("5"), test::kFailed);
    pq["pears"].put("6");
    REQUIRE(pq["pears"].get(0s));
    auto stats = admin.stats();
    REQUIRE(stats.size() == 2);
    CHECK(stats[0].queue == "apples");
    CHECK(stats[0].available == 2);
    CHECK(stats[0].scheduled == 1);
    CHECK(stats[0].running == 1);
    CHECK(stats[0].failed == 1);
    CHECK(stats[0].completed == 0);
    CHECK(stats[0].cancelled == 0);
    CHECK(stats[0].finished == 1);
    REQUIRE(stats[0].oldest_available);
    CHECK(*stats[0].oldest_available >= 0us);
    CHECK(stats[1].queue == "pears");
    CHECK(stats[1].completed == 1);
    CHECK(stats[1].finished == 1);
    CHECK_FALSE(stats[1].oldest_available);
    // Finished an hour ago: outside a one-minute window, inside a two-hour one.
    test::scalar(pq, "update \"" + pq.options().schema +
                         "\".jobs set finished_at = now() - interval '1 hour' where queue = 'pears' returning id");
    CHECK(admin.stats()[1].finished == 0);
    CHECK(admin.stats(2h)[1].finished == 1);
  }

  TEST_CASE("jobs lists by queue, state and kind, newest first, up to a limit") {
    auto pq = test::fresh();
    pq::Admin admin{pq};
    auto a1 = pq["a"].put("1", {.kind = "eat"});
    auto a2 = pq["a"].put("2");
    auto b1 = pq["b"].put("3", {.kind = "eat"});
    test::force_job(pq, a2, test::kFailed);
    auto ids = [](const std::vector<pq::Job>& jobs) {
      std::vector<std::int64_t> out;
      for (const auto& job : jobs) out.push_back(job.id);
      return out;
    };
    CHECK(ids(admin.jobs()) == std::vector<std::int64_t>{b1, a2, a1});
    CHECK(ids(admin.jobs({.queue = "a"})) == std::vector<std::int64_t>{a2, a1});
    CHECK(ids(admin.jobs({.state = pq::JobState::failed})) == std::vector<std::int64_t>{a2});
    CHECK(ids(admin.jobs({.kind = "eat"})) == std::vector<std::int64_t>{b1, a1});
    CHECK(ids(admin.jobs({.queue = "a", .kind = "eat"})) == std::vector<std::int64_t>{a1});
    CHECK(ids(admin.jobs({.limit = 1})) == std::vector<std::int64_t>{b1});
    CHECK(admin.jobs({.queue = "nobody"}).empty());
    auto failed = admin.jobs({.state = pq::JobState::failed});
    REQUIRE(failed.size() == 1);
    CHECK(failed[0].errors.find("boom") != std::string::npos);
    CHECK_THROWS_WITH_AS(admin.jobs({.limit = 0}), "limit is 0; list at least 1 job", pq::UsageError);
    CHECK_THROWS_AS(admin.jobs({.queue = ""}), pq::UsageError);
  }

  TEST_CASE("peek shows the job a get would take, and changes nothing") {
    auto pq = test::fresh();
    pq::Admin admin{pq};
    auto q = pq["peek"];
    CHECK_FALSE(admin.peek("peek"));
    q.put("\"later\"", {.schedule_at = 1h});
    CHECK_FALSE(admin.peek("peek"));
    auto due = q.put("\"due\"", {.schedule_at = 1h, .priority = -9});
    test::force_job(pq, due, "schedule_at = now() - interval '1 second'");
    auto low = q.put("\"low\"", {.priority = 5});
    auto high = q.put("\"high\"", {.priority = 1});
    // Available jobs come first: a get promotes due ones only when none is available.
    auto peeked = admin.peek("peek");
    REQUIRE(peeked);
    CHECK(peeked->id == high);
    CHECK(peeked->state == pq::JobState::available);
    CHECK(admin.peek("peek")->id == high);
    CHECK(q.get(0s)->id == high);
    CHECK(admin.peek("peek")->id == low);
    CHECK(q.get(0s)->id == low);
    CHECK(admin.peek("peek")->id == due);
    CHECK(test::state_of(pq, due) == pq::JobState::scheduled);
    CHECK(q.get(0s)->id == due);
  }

  TEST_CASE("retry requeues a failed or cancelled job, with one more attempt and its history") {
    auto pq = test::fresh();
    pq::Admin admin{pq};
    auto id = pq["r"].put(R"({"x":1})");
    test::force_job(pq, id, test::kFailed);
    CHECK(admin.retry(id) == pq::RetryResult::requeued);
    auto job = pq.job(id);
    REQUIRE(job);
    CHECK(job->state == pq::JobState::available);
    CHECK(job->attempt == 3);
    CHECK(job->max_attempts == 4);
    CHECK_FALSE(job->finished_at);
    CHECK(job->errors.find("boom") != std::string::npos);
    CHECK(admin.retry(id) == pq::RetryResult::not_retryable);
    CHECK(admin.retry(id + 1000) == pq::RetryResult::not_found);
    REQUIRE(admin.cancel(id) == pq::CancelResult::cancelled);
    CHECK(admin.retry(id) == pq::RetryResult::requeued);
    CHECK(pq.job(id)->max_attempts == 4);  // attempts left: unchanged
    CHECK(pq["r"].get(0s)->id == id);
  }

  TEST_CASE("retry_all requeues one queue's jobs in one state") {
    auto pq = test::fresh();
    pq::Admin admin{pq};
    std::vector<std::int64_t> failed;
    for (int i = 0; i < 3; ++i) failed.push_back(pq["q"].put("1"));
    for (auto id : failed) test::force_job(pq, id, test::kFailed);
    auto cancelled = pq["q"].put("2");
    REQUIRE(admin.cancel(cancelled) == pq::CancelResult::cancelled);
    auto elsewhere = pq["other"].put("3");
    test::force_job(pq, elsewhere, test::kFailed);
    CHECK(admin.retry_all("q", pq::JobState::failed) == 3);
    for (auto id : failed) CHECK(test::state_of(pq, id) == pq::JobState::available);
    CHECK(test::state_of(pq, cancelled) == pq::JobState::cancelled);
    CHECK(test::state_of(pq, elsewhere) == pq::JobState::failed);
    CHECK(admin.retry_all("q", pq::JobState::failed) == 0);
    CHECK(admin.retry_all("q", pq::JobState::cancelled) == 1);
    CHECK_THROWS_WITH_AS(admin.retry_all("q", pq::JobState::running),
                         "only failed or cancelled jobs can be retried, not running ones", pq::UsageError);
  }

  TEST_CASE("a retried job wakes a blocked get") {
    auto pq = test::fresh({.poll_interval = 60s});
    pq::Admin admin{pq};
    auto id = pq["wake"].put("1");
    test::force_job(pq, id, test::kFailed);
    std::optional<pq::Job> got;
    std::thread consumer([&] { got = pq["wake"].get(30s); });
    std::this_thread::sleep_for(200ms);  // let it reach its sleep; only the NOTIFY can then wake it in time
    CHECK(admin.retry(id) == pq::RetryResult::requeued);
    consumer.join();
    REQUIRE(got);
    CHECK(got->id == id);
  }

  TEST_CASE("cancel ends waiting jobs and asks running ones to stop") {
    auto pq = test::fresh();
    pq::Admin admin{pq};
    auto q = pq["c"];
    auto available = q.put("1");
    auto scheduled = q.put("2", {.schedule_at = 1h});
    auto running = q.put("3");
    test::force_job(pq, running, test::kRunning);
    auto done = q.put("4");
    test::force_job(pq, done, test::kCompleted);

    CHECK(admin.cancel(available) == pq::CancelResult::cancelled);
    auto job = pq.job(available);
    CHECK(job->state == pq::JobState::cancelled);
    CHECK(job->finished_at);
    CHECK(admin.cancel(scheduled) == pq::CancelResult::cancelled);
    CHECK(admin.cancel(running) == pq::CancelResult::cancel_requested);
    job = pq.job(running);
    CHECK(job->state == pq::JobState::running);
    CHECK(job->cancel_requested);
    CHECK_FALSE(job->finished_at);
    CHECK(admin.cancel(done) == pq::CancelResult::already_finished);
    CHECK(admin.cancel(available) == pq::CancelResult::already_finished);
    CHECK(admin.cancel(done + 1000) == pq::CancelResult::not_found);
    CHECK_FALSE(q.get(0s));
  }

  TEST_CASE("purge deletes one queue's finished jobs, by state and age") {
    auto pq = test::fresh();
    pq::Admin admin{pq};
    auto q = pq["p"];
    auto waiting = q.put("1");
    auto failed = q.put("2");
    test::force_job(pq, failed, test::kFailed);
    auto completed = q.put("3");
    test::force_job(pq, completed, test::kCompleted);
    auto cancelled = q.put("4");
    REQUIRE(admin.cancel(cancelled) == pq::CancelResult::cancelled);
    auto old = q.put("5");
    test::force_job(pq, old, "state = 'completed', finished_at = now() - interval '8 days'");
    auto neighbour = pq["n"].put("6");
    REQUIRE(pq["n"].get(0s));

    CHECK(admin.purge({.queue = "p", .older_than = 7 * 24h}).deleted == 1);
    CHECK_FALSE(pq.job(old));
    CHECK(admin.purge({.queue = "p", .state = pq::JobState::failed}).deleted == 1);
    CHECK_FALSE(pq.job(failed));
    CHECK(admin.count_purge({.queue = "p"}) == 2);
    CHECK(pq.job(completed));
    auto purged = admin.purge({.queue = "p"});
    CHECK(purged.deleted == 2);
    CHECK(purged.skipped == 0);
    CHECK_FALSE(pq.job(completed));
    CHECK_FALSE(pq.job(cancelled));
    CHECK(pq.job(waiting));
    CHECK(pq.job(neighbour));
    CHECK_THROWS_WITH_AS(admin.purge({.queue = "p", .state = pq::JobState::available}),
                         doctest::Contains("available jobs are not finished"), pq::UsageError);
    CHECK_THROWS_AS(admin.count_purge({.queue = "p", .state = pq::JobState::running}), pq::UsageError);
    CHECK(pq.job(waiting));
    CHECK(admin.count_purge({.queue = "p", .state = pq::JobState::available, .unfinished = true}) == 1);
    CHECK(admin.purge({.queue = "p", .state = pq::JobState::available, .unfinished = true}).deleted == 1);
    CHECK_THROWS_WITH_AS(admin.purge({}), "queue name is empty", pq::UsageError);
  }

  TEST_CASE("cancel and purge do not wait for a transaction that holds the job") {
    auto pq = test::fresh();
    pq::Admin admin{pq};
    auto held = pq["h"].put("1");
    auto done = pq["h"].put("2");
    test::force_job(pq, done, test::kCompleted);
    auto tx = pq.begin();
    tx.exec("select id from \"" + pq.options().schema + "\".jobs where queue = 'h' for update");
    // Both would block until the transaction ends if they waited on the rows; the transaction stays open
    // until after they answered, or until the test gives up on them.
    auto cancelled = std::async(std::launch::async, [&] { return admin.cancel(held); });
    auto purging = std::async(std::launch::async, [&] { return admin.purge({.queue = "h"}); });
    const bool answered = cancelled.wait_for(60s) == std::future_status::ready &&
                          purging.wait_for(60s) == std::future_status::ready;
    if (!answered) tx.rollback();
    REQUIRE(answered);
    CHECK(cancelled.get() == pq::CancelResult::in_transaction);
    auto purged = purging.get();
    CHECK(purged.deleted == 0);
    CHECK(purged.skipped == 1);
    tx.rollback();
    CHECK(test::state_of(pq, held) == pq::JobState::available);
    CHECK(admin.purge({.queue = "h"}).deleted == 1);
    CHECK(admin.cancel(held) == pq::CancelResult::cancelled);
  }

  TEST_CASE("error_history decodes the errors array, tolerating odd entries") {
    pq::Job job;
    job.errors = R"([{"attempt": 1, "at": "2026-01-01T00:00:00Z", "error": "boom"},
                     {"attempt": 2, "error": {"code": 7}}, 3])";
    auto history = pq::error_history(job);
    REQUIRE(history.size() == 3);
    CHECK(history[0].attempt == 1);
    CHECK(history[0].at == "2026-01-01T00:00:00Z");
    CHECK(history[0].error == "boom");
    CHECK(history[1].attempt == 2);
    CHECK(history[1].at.empty());
    CHECK(history[1].error == R"({"code":7})");
    CHECK(history[2].error.empty());
    CHECK(pq::error_history(pq::Job{}).empty());
    job.errors = "{}";
    CHECK_THROWS_AS(pq::error_history(job), pq::JsonError);
  }
}
