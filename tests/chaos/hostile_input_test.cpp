// Hostile input against a server that logs every statement (log_statement = all): payloads that pq refuses
// must never reach the server, and names full of SQL syntax must be quoted or refused, never executed.
#include <sstream>

#include "chaos.hpp"

using namespace std::chrono_literals;

namespace {

auto logging_server() -> pq::testing::TempPostgres {
  return pq::testing::TempPostgres({.settings = {"log_statement = 'all'"}, .use_environment = false});
}

auto server_log(const pq::testing::TempPostgres& server) -> std::string {
  return test::read_file(server.directory() + "/server.log");
}

// The statements the server logged, one per entry, without the line prefix.
auto statements(const std::string& log) -> std::vector<std::string> {
  std::vector<std::string> out;
  std::istringstream in(log);
  for (std::string line; std::getline(in, line);) {
    for (const char* tag : {"LOG:  statement: ", "LOG:  execute "}) {
      if (auto at = line.find(tag); at != std::string::npos) out.push_back(line.substr(at + std::string(tag).size()));
    }
  }
  return out;
}

}  // namespace

TEST_SUITE("hostile input") {
  TEST_CASE("payloads over the limit, with NUL, or malformed are refused before any statement is sent") {
    auto server = logging_server();
    pq::PQ pq{server.url(), {.schema = "hostile"}};  // the default limit: 1 MiB
    pq.create();
    auto q = pq["payloads"];
    const std::string marker = pq::testing::unique_name("refused");
    auto doc = [&](const std::string& what, const std::string& extra = "") {
      return R"({"m":")" + marker + "-" + what + "\"" + extra + "}";
    };
    CHECK_THROWS_AS(q.put(doc("oversize", R"(,"pad":")" + std::string(std::size_t{1} << 20, 'x') + "\"")), pq::UsageError);
    CHECK_THROWS_AS(q.put(std::string(R"({"m":")") + marker + "-nul" + std::string(1, '\0') + "\"}"), pq::JsonError);
    CHECK_THROWS_AS(q.put(doc("escaped-nul\\u0000")), pq::JsonError);
    CHECK_THROWS_AS(q.put(doc("malformed", ",")), pq::JsonError);
    CHECK_THROWS_AS(q.put_many(std::vector<std::string>{doc("batch-good"), doc("batch-bad", ",")}), pq::JsonError);
    const auto id = q.put(doc("accepted"));
    CHECK_THROWS_AS(q.update(id, doc("update-bad", ",")), pq::JsonError);
    auto task = q.task("t", [](const std::string&) {});
    CHECK_THROWS_AS(task.push(marker + "-task-nul" + std::string(1, '\0')), pq::JsonError);

    const auto log = server_log(server);
    CHECK(log.find(marker + "-accepted") != std::string::npos);  // the log does show what was sent
    for (const char* refused : {"oversize", "nul", "escaped-nul", "malformed", "batch-good", "batch-bad",
                                "update-bad", "task-nul"}) {
      CAPTURE(refused);
      CHECK(log.find(marker + "-" + refused) == std::string::npos);
    }
  }

  TEST_CASE("schema and queue names with quotes, ;, --, $, unicode are quoted and round-trip; over-long ones are refused") {
    auto server = logging_server();
    pq::PQ admin{server.url(), {.schema = "admin"}};
    admin.create();
    chaos::rows(admin, "create table public.victim (x int)");
    const std::vector<std::string> names{R"(x"; drop table public.victim; --)", "semi;colon", "dash -- comment",
                                         "$1$ $$ dollar $q$", "schéma 🍏 ☃", "it's", R"(back\slash)", "@schema@",
                                         "@channel@", "x'); drop table public.victim; --"};
    for (const auto& name : names) {
      CAPTURE(name);
      pq::PQ pq{server.url(), {.schema = name}};
      CHECK(pq.create() == pq::PQ::latest_schema_version());
      for (const auto& queue : names) test::check_round_trip(pq[queue], 5s);
      auto retried = pq[name].put("{}", {.schedule_at = 1ms});
      pq::Scheduler scheduler(pq, {.handle_signals = false, .log = [](pq::LogLevel, std::string_view) {}});
      CHECK(chaos::eventually([&] {
        scheduler.run_once();
        return pq.job(retried)->state == pq::JobState::available;
      }, 30s));
      CHECK(chaos::number(admin, "select count(*) from pg_namespace where nspname = " + test::literal(name)) == 1);
    }

    const std::string overlong = pq::testing::unique_name("overlong");
    CHECK_THROWS_WITH_AS((pq::PQ{server.url(), {.schema = overlong + std::string(58, 'x')}}),
                         doctest::Contains("the limit is 58"), pq::UsageError);
    CHECK_THROWS_WITH_AS((pq::PQ{server.url(), {.schema = overlong + "🍏🍏🍏🍏🍏🍏🍏🍏🍏🍏🍏🍏"}}),
                         doctest::Contains("the limit is 58"), pq::UsageError);
    CHECK_THROWS_WITH_AS(admin[overlong + std::string(128, 'q')], doctest::Contains("the limit is 128"), pq::UsageError);
    CHECK_THROWS_WITH_AS(admin[overlong + std::string(1, '\0')], doctest::Contains("NUL"), pq::UsageError);
    CHECK_THROWS_WITH_AS((pq::PQ{server.url(), {.schema = overlong + std::string(1, '\0')}}), doctest::Contains("NUL"),
                         pq::UsageError);

    CHECK(chaos::number(admin, "select count(*) from public.victim") == 0);  // still there
    const auto log = server_log(server);
    CHECK(log.find(overlong) == std::string::npos);
    CHECK(log.find("ERROR:") == std::string::npos);  // no statement was broken by a name
    for (const auto& statement : statements(log)) {
      CAPTURE(statement);
      CHECK(statement.find("<unnamed>: drop") == std::string::npos);
      CHECK(statement.rfind("drop", 0) == std::string::npos);
    }
  }
}
