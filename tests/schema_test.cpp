#include <atomic>
#include <mutex>
#include <set>
#include <thread>
#include <vector>

#include "pg/session.hpp"
#include "pg/statements.hpp"
#include "sql_text.hpp"
#include "support.hpp"

using namespace std::chrono_literals;

TEST_SUITE("schema") {
  TEST_CASE("create installs the latest version and is idempotent") {
    pq::PQ pq{test::server().url(), {.schema = pq::testing::unique_name("c")}};
    CHECK(pq.schema_version() == 0);
    CHECK(pq.create() == pq::PQ::latest_schema_version());
    CHECK(pq.create() == pq::PQ::latest_schema_version());
    CHECK(pq.schema_version() == pq::PQ::latest_schema_version());
  }

  TEST_CASE("many concurrent create() calls from separate connections all succeed") {
    const auto schema = pq::testing::unique_name("race");
    std::atomic<int> failures{0};
    std::vector<std::thread> threads;
    for (int i = 0; i < 16; ++i) {
      threads.emplace_back([&] {
        try {
          pq::PQ pq{test::server().url(), {.schema = schema}};
          if (pq.create() != pq::PQ::latest_schema_version()) ++failures;
        } catch (const std::exception& error) {
          MESSAGE(error.what());
          ++failures;
        }
      });
    }
    for (auto& thread : threads) thread.join();
    CHECK(failures == 0);
    pq::PQ pq{test::server().url(), {.schema = schema}};
    CHECK(test::scalar(pq, "select count(*) from \"" + schema + "\".migrations") ==
          std::to_string(pq::PQ::latest_schema_version()));
  }

  TEST_CASE("schema names with quotes, semicolons, comments, dollars and unicode are quoted, never run") {
    for (const std::string& name : std::vector<std::string>{R"(we"ird)", "semi;colon", "drop -- comment", "$1$", "schéma 🍏", "it's",
                             "@channel@", "UPPER case", std::string(58, 'z')}) {
      CAPTURE(name);
      pq::PQ pq{test::server().url(), {.schema = name}};
      CHECK(pq.create() == pq::PQ::latest_schema_version());
      auto q = pq["q"];
      q.put(R"({"x":1})");
      auto job = q.get(1s);
      REQUIRE(job);
      CHECK(job->data == R"({"x": 1})");
      CHECK(test::scalar(pq, "select count(*) from pg_namespace where nspname = " + test::literal(name)) == "1");
    }
  }

  TEST_CASE("every embedded statement prepares against the server") {
    pq::PQ pq = test::fresh();
    pq::pg::Session session(test::server().url());
    auto statements = std::make_shared<const pq::pg::Statements>(session, pq.options().schema);
    REQUIRE(pq::sql::statements().size() > 5);
    for (const auto& statement : pq::sql::statements()) {
      CAPTURE(statement.name);
      auto name = "check_" + std::string(statement.name);
      for (auto& c : name) c = c == '/' ? '_' : c;
      CHECK_NOTHROW(session.exec("PREPARE \"" + name + "\" AS " + statements->text(statement), {},
                                 pq::pg::Format::text));
    }
  }
}
