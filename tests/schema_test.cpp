#include <atomic>
#include <mutex>
#include <optional>
#include <set>
#include <thread>
#include <vector>

#include "pg/session.hpp"
#include "pg/statements.hpp"
#include "sql_text.hpp"
#include "support.hpp"

using namespace std::chrono_literals;

namespace {

// The storage of pq.jobs and of each of its indexes but `except`: a rewrite or a rebuild gives them new files.
auto storage(pq::PQ& pq, const std::string& except = "") -> std::string {
  return test::scalar(pq, "select string_agg(relname || '=' || relfilenode, ' ' order by relname) from pg_class "
                          "where relnamespace = " + test::literal(pq.options().schema) +
                          "::regnamespace and relkind in ('r', 'i') and relname like 'jobs%' and relname <> " +
                          test::literal(except));
}

// Jobs in every state, as a version-3 schema holds them: 5,000 rows.
void fill_version_3(pq::PQ& pq) {
  const auto jobs = test::jobs_table(pq);
  test::exec(pq, "insert into " + jobs + " (queue, kind, data, state, schedule_at) "
                 "select 'old', 'k', jsonb_build_object('n', n), 'available', now() from generate_series(1, 2000) n");
  test::exec(pq, "insert into " + jobs + " (queue, data, state, schedule_at) "
                 "select 'old', '{}', 'scheduled', now() + interval '1 hour' from generate_series(1, 1000)");
  test::exec(pq, "insert into " + jobs + " (queue, data, state, attempt, attempted_at, lease_until, locked_by) "
                 "select 'old', '{}', 'running', 1, now(), now() + interval '1 hour', 'w' from generate_series(1, 500)");
  test::exec(pq, "insert into " + jobs + " (queue, data, state, finished_at) "
                 "select 'old', '{}', 'completed', now() from generate_series(1, 1000)");
  test::exec(pq, "insert into " + jobs + " (queue, data, state, attempt, max_attempts, finished_at, errors) "
                 "select 'old', '{}', 'failed', 3, 3, now(), '[{\"error\": \"boom\"}]' from generate_series(1, 500)");
}

// What a version-4 schema made by the first form of migration 004 looks like: it changed the columns to
// domains with constraints, rewriting the table.
constexpr const char* kFirst004 = R"sql(
CREATE DOMAIN @s.queue_name AS text CONSTRAINT queue_length CHECK (octet_length(VALUE) BETWEEN 1 AND 128);
CREATE DOMAIN @s.kind_name AS text CONSTRAINT kind_length CHECK (octet_length(VALUE) <= 128);
CREATE DOMAIN @s.attempt_count AS integer CONSTRAINT attempt_not_negative CHECK (VALUE >= 0);
CREATE DOMAIN @s.attempt_limit AS integer CONSTRAINT max_attempts_positive CHECK (VALUE > 0);
CREATE DOMAIN @s.error_list AS jsonb CONSTRAINT errors_is_array CHECK (jsonb_typeof(VALUE) = 'array');
ALTER TABLE @s.jobs
    DROP CONSTRAINT queue_length, DROP CONSTRAINT kind_length, DROP CONSTRAINT attempt_in_range,
    DROP CONSTRAINT finished_iff_terminal, DROP CONSTRAINT leased_iff_running, DROP CONSTRAINT errors_is_array,
    ALTER COLUMN queue TYPE @s.queue_name, ALTER COLUMN kind TYPE @s.kind_name,
    ALTER COLUMN attempt TYPE @s.attempt_count, ALTER COLUMN max_attempts TYPE @s.attempt_limit,
    ALTER COLUMN errors TYPE @s.error_list,
    ADD CONSTRAINT job_invariants CHECK (
        attempt <= max_attempts AND (state >= 'completed') = (finished_at IS NOT NULL)
        AND (state = 'running') = (locked_by IS NOT NULL) AND (locked_by IS NULL) = (lease_until IS NULL));
INSERT INTO @s.migrations (version, name) VALUES (4, 'migrations/004_lean_invariants');
)sql";

// The upgraded schema serves jobs and keeps every rule: what a fresh install does.
void check_works(pq::PQ& pq) {
  auto q = pq["old"];
  auto job = q.get(0s);
  REQUIRE(job);
  CHECK(job->queue == "old");
  auto id = pq["new"].put(R"({"x":1})", {.kind = "k"});
  CHECK(pq["new"].get(0s)->id == id);
  const auto jobs = test::jobs_table(pq);
  for (const char* broken : {"kind = repeat('k', 129)", "attempt = -1", "max_attempts = 0", "errors = '{}'",
                                    "queue = ''", "locked_by = 'w'", "attempt = max_attempts + 1"}) {
    CAPTURE(broken);
    CHECK_THROWS_AS(test::scalar(pq, "update " + jobs + " set " + broken + " where id = " + std::to_string(id) +
                                         " returning id"),
                    pq::Error);
  }
  CHECK(test::scalar(pq, "select count(*) from pg_constraint where conrelid = " + test::literal(jobs) +
                             "::regclass and contype = 'c' and not convalidated") == "0");
}

}  // namespace

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
  TEST_CASE("an upgrade from version 3 rewrites neither the table nor its indexes, but the claim index from 6") {
    pq::PQ pq{test::server().url(), {.schema = pq::testing::unique_name("v3")}};
    REQUIRE(pq.create({.up_to = 3}) == 3);
    fill_version_3(pq);
    const auto before = storage(pq);
    const auto others = storage(pq, "jobs_claim_idx");
    CHECK(pq.create({.up_to = 5}) == 5);
    CHECK(storage(pq) == before);
    // 006 rebuilds the claim index on a new key, and nothing else.
    CHECK(pq.create() == pq::PQ::latest_schema_version());
    CHECK(storage(pq, "jobs_claim_idx") == others);
    CHECK(storage(pq) != before);
    CHECK(test::scalar(pq, "select pg_get_indexdef(" + test::literal(pq.options().schema + ".jobs_claim_idx") +
                               "::regclass)")
              .find("COALESCE(expected_at, 'infinity'") != std::string::npos);
    check_works(pq);
  }

  TEST_CASE("a version-4 schema made by the first form of migration 004 upgrades and works") {
    pq::PQ pq{test::server().url(), {.schema = pq::testing::unique_name("v4")}};
    REQUIRE(pq.create({.up_to = 3}) == 3);
    fill_version_3(pq);
    std::string script = kFirst004;
    for (auto at = script.find("@s"); at != std::string::npos; at = script.find("@s")) {
      script.replace(at, 2, "\"" + pq.options().schema + "\"");
    }
    pq::pg::Session(test::server().url()).exec_script(script, "first_004");
    REQUIRE(pq.schema_version() == 4);
    CHECK(pq.create() == pq::PQ::latest_schema_version());
    check_works(pq);
  }

  TEST_CASE("a migration that cannot get its lock gives up, says who holds it, and never stalls a put") {
    const auto schema = pq::testing::unique_name("blocked");
    pq::PQ pq{test::server().url(), {.schema = schema}};
    REQUIRE(pq.create({.up_to = 3}) == 3);
    pq["q"].put("{}");
    // What a transactional task does: hold a job's row lock for as long as it runs.
    pq::PQ holder_pq{test::server().url(), {.schema = schema}};
    std::optional<pq::Transaction> holder{holder_pq.begin()};
    const auto holder_pid = std::string(holder->exec("select pg_backend_pid()").get(0, 0));
    holder->exec("select id from " + test::jobs_table(pq) + " for update");

    std::atomic<bool> done{false};
    std::string sqlstate;
    std::string message;
    std::thread migrate([&] {
      try {
        pq.create({.lock_timeout = 100ms, .attempts = 4});
      } catch (const pq::Error& error) {
        sqlstate = error.sqlstate();
        message = error.what();
      }
      done = true;
    });
    // Meanwhile producers keep putting, each willing to wait for a lock far longer than the migration does,
    // and far less than the holder holds its lock.
    pq::PQ producer{test::server().url(), {.schema = schema}};
    int puts = 0;
    int stalled = 0;
    const auto deadline = std::chrono::steady_clock::now() + 60s;
    while (!done && std::chrono::steady_clock::now() < deadline) {
      try {
        auto tx = producer.begin();
        tx.exec("set local lock_timeout = '3s'");
        producer["q"].put(tx, "{}");
        tx.commit();
        ++puts;
      } catch (const pq::Error& error) {
        MESSAGE(error.what());
        ++stalled;
      }
      std::this_thread::sleep_for(20ms);
    }
    holder.reset();  // lets a create() that never gives up finish, so that the test ends either way
    migrate.join();
    CHECK(puts > 0);
    CHECK(stalled == 0);
    CHECK(sqlstate == "55P03");
    CAPTURE(message);
    CHECK(message.find("could not lock the tables of schema") != std::string::npos);
    CHECK(message.find("within 100 ms, 4 times") != std::string::npos);
    CHECK(message.find("session " + holder_pid + " (idle in transaction") != std::string::npos);
    CHECK(message.find("holds jobs (RowShareLock)") != std::string::npos);
    CHECK(pq.schema_version() == 3);
    CHECK(pq.create() == pq::PQ::latest_schema_version());  // the holder is gone
  }

  TEST_CASE("create() refuses options it cannot follow") {
    pq::PQ pq{test::server().url(), {.schema = pq::testing::unique_name("o")}};
    CHECK_THROWS_AS(pq.create({.lock_timeout = 0ms}), pq::UsageError);
    CHECK_THROWS_AS(pq.create({.attempts = 0}), pq::UsageError);
    CHECK_THROWS_AS(pq.create({.up_to = pq::PQ::latest_schema_version() + 1}), pq::UsageError);
    CHECK(pq.schema_version() == 0);
  }
}

