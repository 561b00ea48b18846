// The SQL API (sql/migrations/007_sql_api.sql, docs/sql.md): pq's put, put_many, take, cancel and retry as
// functions, called the way another client of the database calls them, inside its own transactions.
#include <algorithm>
#include <random>
#include <set>
#include <thread>

#include "support.hpp"

using namespace std::chrono_literals;

namespace {

auto schema_of(const pq::PQ& pq) -> std::string { return "\"" + pq.options().schema + "\""; }

auto count_jobs(pq::PQ& pq) -> int { return std::stoi(test::scalar(pq, "select count(*) from " + test::jobs_table(pq))); }

// The SQLSTATE and message of a statement that must fail, run in a transaction of its own.
struct Failure {
  std::string sqlstate;
  std::string message;
};
auto failure_of(pq::PQ& pq, const std::string& sql) -> Failure {
  auto tx = pq.begin();
  try {
    tx.exec(sql);
  } catch (const pq::Error& error) {
    return {error.sqlstate(), error.what()};
  }
  FAIL("the statement did not fail: " << sql);
  return {};
}

}  // namespace

TEST_SUITE("sql api") {
  TEST_CASE("put and put_many write what pq::Queue writes, with named options and ids in order") {
    auto pq = test::fresh();
    const auto s = schema_of(pq);
    auto tx = pq.begin();
    const auto plain = std::stoll(std::string(tx.exec("select " + s + ".put('mail', '{\"to\": \"a@b\"}')").get(0, 0)));
    const auto shaped = std::stoll(std::string(
        tx.exec("select " + s + ".put('mail', '[1, 2]', kind => 'send', priority => -5, max_attempts => 3, "
                "expected_in => interval '1 hour')")
            .get(0, 0)));
    const auto later = std::stoll(
        std::string(tx.exec("select " + s + ".put('mail', run_in => interval '1 hour')").get(0, 0)));
    auto many = tx.exec("select id from " + s +
                        ".put_many('mail', array['{\"n\": 1}', '{\"n\": 2}', '{\"n\": 3}']::jsonb[]) as id");
    tx.commit();

    auto job = pq.job(plain);
    REQUIRE(job);
    CHECK(job->queue == "mail");
    CHECK(job->state == pq::JobState::available);
    CHECK(job->kind.empty());
    CHECK(job->max_attempts == pq::kDefaultMaxAttempts);
    CHECK(pq::Json::parse(job->data)["to"].as_string() == "a@b");
    job = pq.job(shaped);
    REQUIRE(job);
    CHECK(job->kind == "send");
    CHECK(job->priority == -5);
    CHECK(job->max_attempts == 3);
    CHECK(job->expected_at.has_value());
    CHECK(pq.job(later)->state == pq::JobState::scheduled);
    REQUIRE(many.rows() == 3);
    for (int row = 0; row < 3; ++row) {
      const auto id = std::stoll(std::string(many.get(row, 0)));
      CHECK(pq::Json::parse(pq.job(id)->data)["n"].as_int() == row + 1);
    }
    // The C++ API takes them in the same order as its own: priority first.
    auto first = pq["mail"].get();
    REQUIRE(first);
    CHECK(first->id == shaped);
  }

  TEST_CASE("a put rolled back leaves nothing; committed ones wake an idle blocking get at once") {
    pq::ConnectionOptions options;
    options.poll_interval = 60s;  // a lost wake-up would wait a minute
    auto pq = test::fresh(options);
    const auto s = schema_of(pq);
    {
      auto tx = pq.begin();
      tx.exec("select " + s + ".put('wake', '{}')");
      tx.rollback();
    }
    CHECK(count_jobs(pq) == 0);

    // At random spacing, so that most puts find the consumer asleep: by put, by put_many, and every third
    // silently, announced by pq.notify() after its commit.
    using Clock = std::chrono::steady_clock;
    constexpr int kPuts = 60;
    std::vector<Clock::time_point> committed(kPuts);
    std::vector<Clock::time_point> taken(kPuts);
    std::thread consumer([&] {
      auto queue = pq["wake"];
      for (int i = 0; i < kPuts; ++i) {
        auto job = queue.get(30s);
        if (!job) return;
        taken.at(static_cast<std::size_t>(pq::Json::parse(job->data)["n"].as_int())) = Clock::now();
      }
    });
    std::mt19937 random(7);
    std::uniform_int_distribution<int> pause_ms(0, 40);
    for (int n = 0; n < kPuts; ++n) {
      std::this_thread::sleep_for(std::chrono::milliseconds(pause_ms(random)));
      const auto data = test::literal("{\"n\": " + std::to_string(n) + "}");
      auto tx = pq.begin();
      switch (n % 3) {
        case 0: tx.exec("select " + s + ".put('wake', " + data + ")"); break;
        case 1: tx.exec("select " + s + ".put_many('wake', array[" + data + "]::jsonb[])"); break;
        default: tx.exec("select " + s + ".put('wake', " + data + ", notify => false)");
      }
      tx.commit();
      if (n % 3 == 2) test::exec(pq, "select " + s + ".notify('wake')");
      committed.at(static_cast<std::size_t>(n)) = Clock::now();
    }
    consumer.join();
    for (int n = 0; n < kPuts; ++n) {
      CAPTURE(n);
      const auto at = static_cast<std::size_t>(n);
      REQUIRE(taken[at] != Clock::time_point{});
      CHECK(taken[at] - committed[at] < 5s);
    }
  }

  TEST_CASE("take completes jobs in the caller's transaction: done at its commit, available again at a rollback") {
    auto pq = test::fresh();
    const auto s = schema_of(pq);
    const auto first = pq["t"].put(R"({"n": 1})");
    const auto second = pq["t"].put(R"({"n": 2})", {.priority = -1});
    {
      auto tx = pq.begin();
      auto taken = tx.exec("select id, state, attempt from " + s + ".take('t')");
      REQUIRE(taken.rows() == 1);
      CHECK(std::stoll(std::string(taken.get(0, 0))) == second);
      CHECK(taken.get(0, 1) == "completed");
      CHECK(taken.get(0, 2) == "1");
      tx.rollback();
    }
    CHECK(test::state_of(pq, second) == pq::JobState::available);
    {
      auto tx = pq.begin();
      CHECK(tx.exec("select * from " + s + ".take('t', max_jobs => 5)").rows() == 2);
      tx.commit();
    }
    CHECK(test::state_of(pq, first) == pq::JobState::completed);
    CHECK(pq.job(first)->finished_at.has_value());
    {
      auto tx = pq.begin();
      CHECK(tx.exec("select * from " + s + ".take('t')").rows() == 0);
      tx.commit();
    }
    // keep_completed => false deletes the rows, and returns them as completed.
    const auto gone = pq["t"].put("{}");
    {
      auto tx = pq.begin();
      auto taken = tx.exec("select id, state from " + s + ".take('t', keep_completed => false)");
      REQUIRE(taken.rows() == 1);
      CHECK(std::stoll(std::string(taken.get(0, 0))) == gone);
      CHECK(taken.get(0, 1) == "completed");
      tx.commit();
    }
    CHECK_FALSE(pq.job(gone).has_value());
  }

  TEST_CASE("8 sessions taking through SQL take every job exactly once") {
    auto pq = test::fresh();
    const auto s = schema_of(pq);
    constexpr int kJobs = 400;
    std::vector<std::string> data(kJobs, "{}");
    const auto ids = pq["many"].put_many(data);
    std::mutex mutex;
    std::vector<std::int64_t> taken;
    std::vector<std::thread> takers;
    for (int i = 0; i < 8; ++i) {
      takers.emplace_back([&] {
        pq::PQ mine{test::server().url(), pq.options()};
        for (;;) {
          auto tx = mine.begin();
          auto rows = tx.exec("select id from " + s + ".take('many', max_jobs => 3)");
          tx.commit();
          if (rows.rows() == 0) return;
          std::lock_guard lock(mutex);
          for (int row = 0; row < rows.rows(); ++row) taken.push_back(std::stoll(std::string(rows.get(row, 0))));
        }
      });
    }
    for (auto& taker : takers) taker.join();
    std::sort(taken.begin(), taken.end());
    CHECK(taken == ids);
  }

  TEST_CASE("bad input: the error pq::Queue gives, with its SQLSTATE, and nothing written") {
    auto pq = test::fresh();
    const auto s = schema_of(pq);
    struct Case {
      std::string call;
      std::string sqlstate;
      std::string message;
    };
    const std::vector<Case> cases{
        {"put('', '{}')", "22023", "queue name is empty"},
        {"put(repeat('q', 129), '{}')", "22023", "queue name is 129 bytes long; the limit is 128"},
        {"put(E'q\\nx', '{}')", "22023", "queue name contains the control character \\n at byte 1"},
        {"put(E'\\u00e9\\u0085', '{}')", "22023", "queue name contains the control character \\u0085 at byte 2"},
        {"put(NULL, '{}')", "22023", "queue name is NULL"},
        {"put('q', '{}', kind => repeat('k', 129))", "22023", "kind name is 129 bytes long; the limit is 128"},
        {"put('q', '{}', priority => 40000)", "22023", "priority 40000 is out of range [-32768, 32767]"},
        {"put('q', '{}', max_attempts => 0)", "22023", "max_attempts is 0; a job needs at least 1 attempt"},
        {"put('q', '{}', schedule_at => now(), run_in => '1 s')", "22023", "give schedule_at or run_in, not both"},
        {"put('q', NULL)", "22023", "job data is NULL"},
        {"put('q', '{\"a\": }')", "22P02", "invalid input syntax for type json"},
        {"put_many('q', array['{}', NULL]::jsonb[])", "22023", "job 1: job data is NULL"},
        {"take('q', max_jobs => 0)", "22023", "max_jobs is 0; take between 1 and 10000 jobs at a time"},
        {"cancel(123456789)", "P0002", "there is no job 123456789"},
        {"retry(123456789)", "P0002", "there is no job 123456789"},
    };
    for (const auto& c : cases) {
      CAPTURE(c.call);
      const auto failed = failure_of(pq, "select * from " + s + "." + c.call);
      CHECK(failed.sqlstate == c.sqlstate);
      CHECK(failed.message.find(c.message) != std::string::npos);
    }
    CHECK(count_jobs(pq) == 0);
    // The same words as the C++ API's.
    for (const auto& name : {std::string(""), std::string(129, 'q'), std::string("q\nx")}) {
      CAPTURE(name);
      std::string from_cpp;
      try {
        (void)pq[name];
      } catch (const pq::UsageError& error) {
        from_cpp = error.what();
      }
      REQUIRE_FALSE(from_cpp.empty());
      const auto from_sql = failure_of(pq, "select " + s + ".put(" + test::literal(name) + ", '{}')");
      CHECK(from_sql.message.find(from_cpp) != std::string::npos);
    }
    try {
      (void)pq["q"].put("{}", {.priority = 40000});
      FAIL("a priority out of range was accepted");
    } catch (const pq::UsageError& error) {
      CHECK(failure_of(pq, "select " + s + ".put('q', '{}', priority => 40000)").message.find(error.what()) !=
            std::string::npos);
    }
  }

  TEST_CASE("cancel and retry: what pq cancel and pq retry do, and a clear error for a row another transaction holds") {
    auto pq = test::fresh();
    const auto s = schema_of(pq);
    const auto waiting = pq["c"].put("{}");
    const auto running = pq["c"].put("{}");
    const auto failed = pq["c"].put("{}");
    test::force_job(pq, running, test::kRunning);
    test::force_job(pq, failed, test::kFailed);

    CHECK(test::scalar(pq, "select state from " + s + ".cancel(" + std::to_string(waiting) + ")") == "cancelled");
    CHECK(pq.job(waiting)->finished_at.has_value());
    CHECK(test::scalar(pq, "select state || ' ' || cancel_requested from " + s + ".cancel(" +
                               std::to_string(running) + ")") == "running true");
    // Finished: left as it is.
    CHECK(test::scalar(pq, "select state from " + s + ".cancel(" + std::to_string(failed) + ")") == "failed");

    CHECK(test::scalar(pq, "select state || ' ' || max_attempts from " + s + ".retry(" + std::to_string(failed) +
                               ")") == "available 4");
    CHECK(pq.job(failed)->errors.find("boom") != std::string::npos);  // the history stays
    CHECK(test::scalar(pq, "select state from " + s + ".retry(" + std::to_string(waiting) + ")") == "available");
    const auto refused = failure_of(pq, "select " + s + ".retry(" + std::to_string(running) + ")");
    CHECK(refused.sqlstate == "55000");
    CHECK(refused.message.find("is running; only failed or cancelled jobs can be retried") != std::string::npos);

    // A take in a transaction still open holds the row: cancel says so at once instead of waiting.
    auto holder = pq.begin();
    const auto held = std::stoll(std::string(holder.exec("select id from " + s + ".take('c')").get(0, 0)));
    const auto locked = failure_of(pq, "select " + s + ".cancel(" + std::to_string(held) + ")");
    CHECK(locked.sqlstate == "55P03");
    CHECK(locked.message.find("is locked by another transaction") != std::string::npos);
    holder.rollback();
    CHECK(test::state_of(pq, held) == pq::JobState::available);
  }

  TEST_CASE("a role with only the privileges docs/sql.md lists can put, take, cancel and retry") {
    auto pq = test::fresh();
    const auto s = schema_of(pq);
    const auto role = pq::testing::unique_name("app");
    const auto quoted = "\"" + role + "\"";
    test::exec(pq, "create role " + quoted + " login");
    test::exec(pq, "grant usage on schema " + s + " to " + quoted);
    test::exec(pq, "grant select, insert, update, delete on " + test::jobs_table(pq) + " to " + quoted);
    test::exec(pq, "grant select on " + s + ".pauses to " + quoted);
    const auto failed = pq["r"].put("{}");
    test::force_job(pq, failed, test::kFailed);
    {
      pq::PQ app{test::server().url() + " user=" + role, pq.options()};
      auto tx = app.begin();
      const auto id = std::string(tx.exec("select " + s + ".put('r', '{}')").get(0, 0));
      CHECK(tx.exec("select * from " + s + ".take('r')").rows() == 1);
      CHECK(tx.exec("select state from " + s + ".retry(" + std::to_string(failed) + ")").get(0, 0) == "available");
      CHECK(tx.exec("select state from " + s + ".cancel(" + std::to_string(failed) + ")").get(0, 0) == "cancelled");
      CHECK(tx.exec("select count(*) from " + s + ".take('r', keep_completed => false)").get(0, 0) == "0");
      tx.commit();
      CHECK(test::state_of(pq, std::stoll(id)) == pq::JobState::completed);
    }
    // Without INSERT, a put is refused for want of it, and writes nothing.
    test::exec(pq, "revoke insert on " + test::jobs_table(pq) + " from " + quoted);
    const auto before = count_jobs(pq);
    {
      pq::PQ app{test::server().url() + " user=" + role, pq.options()};
      const auto refused = failure_of(app, "select " + s + ".put('r', '{}')");
      CHECK(refused.sqlstate == "42501");
    }
    CHECK(count_jobs(pq) == before);
    // A producer needs INSERT, and SELECT of the id it reads back.
    test::exec(pq, "revoke all on " + test::jobs_table(pq) + " from " + quoted);
    test::exec(pq, "grant insert, select (id) on " + test::jobs_table(pq) + " to " + quoted);
    {
      pq::PQ app{test::server().url() + " user=" + role, pq.options()};
      test::exec(app, "select " + s + ".put('r', '{}')");
      CHECK(failure_of(app, "select * from " + s + ".take('r')").sqlstate == "42501");
    }
    CHECK(count_jobs(pq) == before + 1);
    test::exec(pq, "drop owned by " + quoted);
    test::exec(pq, "drop role " + quoted);
  }
}
