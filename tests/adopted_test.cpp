// pq::Queue on a libpq connection the application owns (lib/adopted/adopted.cpp): inside its transaction,
// with nothing of pq's left on the connection.
#include <libpq-fe.h>

#include <memory>
#include <thread>

#include "support.hpp"

using namespace std::chrono_literals;

namespace {

// The application's own connection, as it would hold it.
struct AppConnection {
  std::unique_ptr<PGconn, decltype(&PQfinish)> conn{PQconnectdb(test::server().url().c_str()), &PQfinish};
  auto exec(const std::string& sql) -> std::string {
    std::unique_ptr<PGresult, decltype(&PQclear)> result(PQexec(conn.get(), sql.c_str()), &PQclear);
    const auto status = PQresultStatus(result.get());
    REQUIRE_MESSAGE((status == PGRES_COMMAND_OK || status == PGRES_TUPLES_OK), PQerrorMessage(conn.get()));
    return PQntuples(result.get()) > 0 ? PQgetvalue(result.get(), 0, 0) : "";
  }
};

void count_notices(void* count, const char*) { ++*static_cast<int*>(count); }

}  // namespace

TEST_SUITE("adopted connection") {
  TEST_CASE("put and put_many on the application's connection commit and roll back with its own writes") {
    auto pq = test::fresh();
    auto q = pq["app"];
    AppConnection app;
    REQUIRE(PQstatus(app.conn.get()) == CONNECTION_OK);
    app.exec("create temporary table orders (id int primary key)");
    int notices = 0;
    PQsetNoticeProcessor(app.conn.get(), count_notices, &notices);

    app.exec("begin");
    app.exec("insert into orders values (1)");
    const auto id = q.put(app.conn.get(), R"({"order": 1})", {.kind = "confirm"});
    const auto ids = q.put_many(app.conn.get(), std::vector<std::string>{R"({"n": 1})", R"({"n": 2})"});
    CHECK(ids.size() == 2);
    CHECK_FALSE(pq.job(id).has_value());  // not committed yet: pq's own sessions do not see it
    app.exec("commit");
    REQUIRE(pq.job(id));
    CHECK(pq.job(id)->kind == "confirm");
    CHECK(q.size() == 3);

    app.exec("begin");
    app.exec("insert into orders values (2)");
    const auto undone = q.put(app.conn.get(), "{}");
    app.exec("rollback");
    CHECK_FALSE(pq.job(undone).has_value());
    CHECK(app.exec("select count(*) from orders") == "1");

    // Nothing of pq's stays: no prepared statement, no LISTEN, the application's notice processor.
    CHECK(app.exec("select count(*) from pg_prepared_statements") == "0");
    CHECK(app.exec("select count(*) from pg_listening_channels()") == "0");
    const PQnoticeProcessor previous = PQsetNoticeProcessor(app.conn.get(), count_notices, &notices);
    CHECK((previous == &count_notices));
  }

  TEST_CASE("get on the application's connection completes the job with its transaction") {
    auto pq = test::fresh();
    auto q = pq["app"];
    const auto first = q.put(R"({"n": 1})");
    AppConnection app;
    app.exec("begin");
    auto job = q.get(app.conn.get());
    REQUIRE(job);
    CHECK(job->id == first);
    CHECK(job->state == pq::JobState::completed);
    app.exec("rollback");
    CHECK(test::state_of(pq, first) == pq::JobState::available);
    app.exec("begin");
    REQUIRE(q.get(app.conn.get()));
    CHECK_FALSE(q.get(app.conn.get()).has_value());  // never waits
    app.exec("commit");
    CHECK(test::state_of(pq, first) == pq::JobState::completed);
  }

  TEST_CASE("a put on the application's connection wakes an idle blocking get at its commit") {
    pq::ConnectionOptions options;
    options.poll_interval = 60s;
    auto pq = test::fresh(options);
    auto q = pq["app"];
    std::optional<pq::Job> got;
    std::thread consumer([&] { got = q.get(30s); });
    std::this_thread::sleep_for(300ms);
    const auto start = std::chrono::steady_clock::now();
    AppConnection app;
    app.exec("begin");
    const auto id = q.put(app.conn.get(), "{}");
    app.exec("commit");
    consumer.join();
    REQUIRE(got);
    CHECK(got->id == id);
    CHECK(std::chrono::steady_clock::now() - start < 20s);
  }

  TEST_CASE("bad connections and aborted transactions get a clear error, and nothing is written") {
    auto pq = test::fresh();
    auto q = pq["app"];
    CHECK_THROWS_WITH_AS(q.put(nullptr, "{}"), "the connection is null", pq::UsageError);
    std::unique_ptr<PGconn, decltype(&PQfinish)> dead(PQconnectdb("host=/nonexistent port=1"), &PQfinish);
    CHECK_THROWS_WITH_AS(q.put(dead.get(), "{}"), doctest::Contains("the connection is not open"), pq::UsageError);
    AppConnection app;
    CHECK_THROWS_AS(q.put(app.conn.get(), "{not json"), pq::JsonError);
    app.exec("begin");
    std::unique_ptr<PGresult, decltype(&PQclear)> failed(PQexec(app.conn.get(), "select 1/0"), &PQclear);
    try {
      (void)q.put(app.conn.get(), "{}");
      FAIL("a put in an aborted transaction succeeded");
    } catch (const pq::Error& error) {
      CHECK(error.sqlstate() == "25P02");
    }
    app.exec("rollback");
    // A schema that is not there: pq's hint.
    pq::ConnectionOptions elsewhere;
    elsewhere.schema = "not_installed_here";
    pq::PQ other{test::server().url(), elsewhere};
    try {
      (void)other["app"].put(app.conn.get(), "{}");
      FAIL("a put into a missing schema succeeded");
    } catch (const pq::Error& error) {
      CHECK(std::string(error.what()).find("pq migrate") != std::string::npos);
    }
    CHECK(q.size() == 0);
  }
}
