// pq::Savepoint: a failed put or get inside a larger transaction no longer dooms it.
#include <thread>

#include "support.hpp"

using namespace std::chrono_literals;

TEST_SUITE("transaction") {
  TEST_CASE("a savepoint rolled back after a failed put leaves the outer transaction usable") {
    auto pq = test::fresh();
    auto q = pq["sp"];
    const auto orders = "\"" + pq.options().schema + "\".orders";
    test::exec(pq, "create table " + orders + " (id int)");
    // Another session holds the jobs table, so the put inside the savepoint times out waiting for it.
    auto locker = pq.begin();
    locker.exec("lock table " + test::jobs_table(pq) + " in exclusive mode");
    auto tx = pq.begin();
    tx.exec("insert into " + orders + " values (1)");
    tx.exec("set local lock_timeout = '100ms'");
    {
      pq::Savepoint savepoint(tx);
      try {
        (void)q.put(tx, R"({"n": 1})");
        FAIL("the put did not wait for the lock");
      } catch (const pq::Error& error) {
        CHECK(error.sqlstate() == "55P03");
      }
      CHECK_THROWS_WITH_AS(savepoint.release(), doctest::Contains("roll back to it instead"), pq::Error);
    }  // rolled back to it here
    locker.rollback();
    tx.exec("set local lock_timeout = 0");
    const auto after = q.put(tx, R"({"n": 2})");
    tx.commit();
    CHECK(test::scalar(pq, "select count(*) from " + orders) == "1");
    CHECK(test::state_of(pq, after) == pq::JobState::available);
    CHECK(q.size() == 1);
  }

  TEST_CASE("released, a savepoint keeps what was done since; rolled back, the jobs a get took are free at once") {
    auto pq = test::fresh();
    auto q = pq["sp"];
    const auto first = q.put(R"({"n": 1})");
    const auto second = q.put(R"({"n": 2})");
    auto tx = pq.begin();
    {
      pq::Savepoint kept(tx);
      auto job = q.get(tx);
      REQUIRE(job);
      CHECK(job->id == first);
      kept.release();
      CHECK_FALSE(kept.active());
    }
    {
      pq::Savepoint undone(tx);
      auto job = q.get(tx);
      REQUIRE(job);
      CHECK(job->id == second);
      undone.rollback();
    }
    // Its row is unlocked by the rollback to the savepoint: another session takes it while tx is open.
    auto other = q.get();
    REQUIRE(other);
    CHECK(other->id == second);
    tx.commit();
    CHECK(test::state_of(pq, first) == pq::JobState::completed);
    CHECK(pq.job(second)->attempt == 1);  // the attempt of the get rolled back is not counted
  }

  TEST_CASE("savepoints nest, end innermost first, and say so when used wrongly") {
    auto pq = test::fresh();
    auto q = pq["sp"];
    auto tx = pq.begin();
    pq::Savepoint outer(tx);
    (void)q.put(tx, R"({"n": 1})");
    {
      pq::Savepoint inner(tx);
      (void)q.put(tx, R"({"n": 2})");
      CHECK_THROWS_WITH_AS(outer.release(), doctest::Contains("still open: end it first"), pq::UsageError);
      CHECK_THROWS_WITH_AS(outer.rollback(), doctest::Contains("still open: end it first"), pq::UsageError);
      CHECK(outer.active());
    }  // inner rolled back: the second put is undone, the first stays
    outer.release();
    CHECK_THROWS_WITH_AS(outer.release(), doctest::Contains("already been released"), pq::UsageError);
    tx.commit();
    CHECK(q.size() == 1);
    // On a transaction that has ended, a savepoint cannot be made.
    CHECK_THROWS_AS(pq::Savepoint{tx}, pq::UsageError);
  }

  TEST_CASE("after a savepoint rolled back, the puts kept are announced at the commit") {
    pq::ConnectionOptions options;
    options.poll_interval = 60s;  // only a notification ends the get's wait before the test's deadline
    auto pq = test::fresh(options);
    auto q = pq["sp"];
    std::optional<pq::Job> got;
    std::thread consumer([&] { got = q.get(30s); });
    std::this_thread::sleep_for(300ms);
    const auto start = std::chrono::steady_clock::now();
    auto tx = pq.begin();
    {
      pq::Savepoint undone(tx);
      (void)q.put(tx, R"({"n": 1})");
    }
    const auto kept = q.put(tx, R"({"n": 2})");
    tx.commit();
    consumer.join();
    REQUIRE(got);
    CHECK(got->id == kept);
    CHECK(std::chrono::steady_clock::now() - start < 20s);
  }
}
