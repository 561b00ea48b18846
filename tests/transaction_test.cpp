#include <thread>

#include "support.hpp"

using namespace std::chrono_literals;

namespace {

void make_eaten_table(pq::PQ& pq) { test::exec(pq, "create table \"" + pq.options().schema + "\".eaten (kind text not null)"); }

auto eaten(pq::PQ& pq) -> std::string {
  return test::scalar(pq, "select count(*) from \"" + pq.options().schema + "\".eaten");
}

}  // namespace

TEST_SUITE("transaction") {
  TEST_CASE("get(tx) then rollback leaves the job untouched") {
    auto pq = test::fresh();
    auto q = pq["tx"];
    auto id = q.put(R"("Cox")");
    {
      auto tx = pq.begin();
      auto job = q.get(tx, 0s);
      REQUIRE(job);
      CHECK(job->id == id);
      // While the transaction holds it, nobody else can take it.
      CHECK_FALSE(q.get(0s));
    }  // destroyed without commit: rolled back
    auto job = pq.job(id);
    REQUIRE(job);
    CHECK(job->state == pq::JobState::available);
    CHECK(job->attempt == 0);
    CHECK(q.size() == 1);
  }

  TEST_CASE("get(tx) with the application's writes commits both together") {
    auto pq = test::fresh();
    make_eaten_table(pq);
    auto q = pq["tx"];
    auto id = q.put(R"("Cox")");
    {
      auto tx = pq.begin();
      auto job = q.get(tx, 0s);
      REQUIRE(job);
      tx.exec("insert into \"" + pq.options().schema + "\".eaten(kind) values ($1)", {job->data});
      tx.commit();
      CHECK_FALSE(tx.active());
    }
    CHECK(pq.job(id)->state == pq::JobState::completed);
    CHECK(eaten(pq) == "1");
    CHECK(q.size() == 0);
  }

  TEST_CASE("an error inside the transaction rolls back the job and the writes") {
    auto pq = test::fresh();
    make_eaten_table(pq);
    auto q = pq["tx"];
    auto id = q.put(R"("Cox")");
    {
      auto tx = pq.begin();
      REQUIRE(q.get(tx, 0s));
      tx.exec("insert into \"" + pq.options().schema + "\".eaten(kind) values ('x')");
      CHECK_THROWS_AS(tx.exec("select 1/0"), pq::Error);
      CHECK_THROWS_WITH_AS(tx.commit(), doctest::Contains("aborted"), pq::Error);
    }
    CHECK(pq.job(id)->state == pq::JobState::available);
    CHECK(eaten(pq) == "0");
  }

  TEST_CASE("BEGIN goes out with the first statement, which may fail like any other") {
    pq::ConnectionOptions one{.max_connections = 1};
    auto pq = test::fresh(one);
    {
      auto tx = pq.begin();  // nothing runs: nothing is sent, and commit has nothing to end
      tx.commit();
    }
    {
      auto tx = pq.begin();
      CHECK_THROWS_WITH_AS(tx.exec("select 1/0"), doctest::Contains("division by zero"), pq::Error);
      CHECK_THROWS_WITH_AS(tx.commit(), doctest::Contains("aborted"), pq::Error);
    }
    {
      // The pool's only session is back outside any transaction, and the first statement of a new one is
      // inside it: both statements see the transaction's start time.
      auto tx = pq.begin();
      const std::string started(tx.exec("select now()::text").get(0, 0));
      std::this_thread::sleep_for(10ms);
      CHECK(tx.exec("select now()::text").get(0, 0) == started);
      tx.rollback();
    }
    CHECK(test::scalar(pq, "select 1") == "1");
  }

  TEST_CASE("put(tx) rolled back leaves nothing; committed, the job exists") {
    auto pq = test::fresh();
    auto q = pq["txput"];
    {
      auto tx = pq.begin();
      q.put(tx, "1");
      q.put_many(tx, std::vector<std::string>{"2", "3"});
      tx.rollback();
    }
    CHECK(q.size() == 0);
    CHECK(test::scalar(pq, "select count(*) from \"" + pq.options().schema + "\".jobs") == "0");
    {
      auto tx = pq.begin();
      q.put(tx, "4");
      CHECK(q.size() == 0);  // invisible to others until commit
      tx.commit();
    }
    CHECK(q.size() == 1);
  }

  TEST_CASE("a blocking get(tx) is woken by a put committed elsewhere") {
    auto pq = test::fresh({.poll_interval = 60s});
    auto q = pq["txwait"];
    std::thread producer([&] {
      std::this_thread::sleep_for(300ms);
      pq["txwait"].put(R"("late")");
    });
    auto tx = pq.begin();
    auto job = q.get(tx, 30s);
    producer.join();
    REQUIRE(job);
    CHECK(job->data == R"("late")");
    tx.commit();
    CHECK(pq.job(job->id)->state == pq::JobState::completed);
  }

  TEST_CASE("exec returns rows as text, NULL as nullopt") {
    auto pq = test::fresh();
    auto tx = pq.begin();
    auto result = tx.exec("select $1::int + 1 as n, null::text as nothing, $2::text as t", {41, "x"});
    CHECK(result.rows() == 1);
    CHECK(result.columns() == 3);
    CHECK(result.column_name(0) == "n");
    CHECK(result.get(0, 0) == "42");
    CHECK_FALSE(result.value(0, 1));
    CHECK(result.get(0, 2) == "x");
    CHECK_THROWS_AS((void)result.get(0, 1), pq::UsageError);
    CHECK_THROWS_AS((void)result.get(3, 0), pq::UsageError);
    CHECK_THROWS_AS((void)tx.exec("select $1::text", {std::nullopt}).get(0, 0), pq::UsageError);
    tx.commit();
    CHECK_THROWS_WITH_AS(tx.exec("select 1"), doctest::Contains("already been committed"), pq::UsageError);
  }

  TEST_CASE("a transaction of one PQ cannot be used with another's queue") {
    auto a = test::fresh();
    auto b = test::fresh();
    auto tx = a.begin();
    CHECK_THROWS_WITH_AS(b["q"].put(tx, "1"), doctest::Contains("another pq::PQ"), pq::UsageError);
  }
}
