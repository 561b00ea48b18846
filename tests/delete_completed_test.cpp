// ConnectionOptions::keep_completed false: every way a job completes deletes its row, and nothing else does.
#include <string>

#include "support.hpp"

using namespace std::chrono_literals;

namespace {

auto rows(pq::PQ& pq, const std::string& where = "true") -> std::string {
  return test::scalar(pq, "select count(*) from " + test::jobs_table(pq) + " where " + where);
}

}  // namespace

TEST_SUITE("delete completed") {
  TEST_CASE("get returns the job as a kept one would read, and leaves no row") {
    auto pq = test::fresh({.keep_completed = false});
    auto q = pq["d"];
    const auto id = q.put(R"({"n": 1})", {.priority = 3});
    q.put("2", {.priority = 1});
    auto first = q.get(0s);
    REQUIRE(first);
    CHECK(first->data == "2");  // take.sql's order
    auto job = q.get(0s);
    REQUIRE(job);
    CHECK(job->id == id);
    CHECK(job->state == pq::JobState::completed);
    CHECK(job->attempt == 1);
    CHECK(job->priority == 3);
    CHECK(job->attempted_at);
    CHECK(job->finished_at);
    CHECK_FALSE(pq.job(id));
    CHECK(rows(pq) == "0");
    CHECK_FALSE(q.get(0s));
  }

  TEST_CASE("get(tx) deletes when the transaction commits; a rollback leaves the job available") {
    auto pq = test::fresh({.keep_completed = false});
    auto q = pq["d"];
    const auto id = q.put("1");
    {
      auto tx = pq.begin();
      auto job = q.get(tx, 0s);
      REQUIRE(job);
      CHECK(job->id == id);
      CHECK(job->state == pq::JobState::completed);
      tx.rollback();
    }
    REQUIRE(pq.job(id));
    CHECK(pq.job(id)->state == pq::JobState::available);
    CHECK(pq.job(id)->attempt == 0);
    auto tx = pq.begin();
    REQUIRE(q.get(tx, 0s));
    CHECK(pq.job(id));  // not gone before the commit
    tx.commit();
    CHECK_FALSE(pq.job(id));
  }

  TEST_CASE("a Worker deletes completed jobs, plain and transactional, and keeps failed ones") {
    auto pq = test::fresh({.keep_completed = false});
    auto plain = pq["w"].task("plain", [](int n) {
      if (n < 0) throw std::runtime_error("negative");
    }, {.max_attempts = 1});
    auto in_tx = pq["w"].task("in_tx", [](pq::Context&, int n) {
      if (n < 0) throw std::runtime_error("negative");
    }, {.max_attempts = 1, .transactional = true});
    for (int i = 0; i < 50; ++i) plain.push(i);
    for (int i = 0; i < 20; ++i) in_tx.push(i);
    const auto failed = plain.push(-1);
    const auto failed_tx = in_tx.push(-1);
    test::LogCapture log;
    pq::Worker worker(pq, test::burst({"w"}, log));
    worker.run();
    CHECK(worker.stats().completed == 70);
    CHECK(rows(pq) == "2");
    CHECK(test::state_of(pq, failed) == pq::JobState::failed);
    CHECK(test::state_of(pq, failed_tx) == pq::JobState::failed);
  }

  TEST_CASE("complete_lease deletes; a late completion from a rescued attempt deletes nothing of the newer one") {
    auto pq = test::fresh({.keep_completed = false});
    auto q = pq["l"];
    const auto id = q.put("1");
    auto old = q.lease(30s, 0s);
    REQUIRE(old);
    // As the rescuer would: the lease lapsed, the job is available again and another holder takes it.
    test::force_job(pq, id, "state = 'available', lease_until = NULL, locked_by = NULL");
    auto newer = q.lease(30s, 0s);
    REQUIRE(newer);
    CHECK(newer->job.attempt == 2);
    CHECK(pq::complete_lease(pq, id, old->token) == pq::LeaseResult::lost);
    REQUIRE(pq.job(id));
    CHECK(pq.job(id)->state == pq::JobState::running);
    CHECK(pq::complete_lease(pq, id, newer->token) == pq::LeaseResult::completed);
    CHECK_FALSE(pq.job(id));
  }

  TEST_CASE("kept by default: the same completions leave completed rows") {
    auto pq = test::fresh();
    auto q = pq["k"];
    const auto id = q.put("1");
    REQUIRE(q.get(0s));
    CHECK(test::state_of(pq, id) == pq::JobState::completed);
  }
}
