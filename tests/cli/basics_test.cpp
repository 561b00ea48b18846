// The pq command as a whole: migrate and version, how it finds its database, usage errors, what ps and
// error messages show, and its help, checked through the built binary.
#include <fmt/core.h>

#include <csignal>
#include <string>
#include <vector>

#include "cli/cli.hpp"
#include "process.hpp"
#include "support.hpp"

using namespace cli;
using namespace std::chrono_literals;

TEST_SUITE("cli") {
  TEST_CASE("migrate installs the schema; version needs no database") {
    pq::PQ pq{test::server().url(), {.schema = pq::testing::unique_name("m")}};
    auto migrated = run(pq, {"migrate"});
    CHECK(migrated.code == 0);
    CHECK(migrated.out == fmt::format("schema '{}' is at version {}\n", pq.options().schema,
                                      pq::PQ::latest_schema_version()));
    CHECK(run(pq, {"migrate", "--json"}).out.find("\"version\":" + std::to_string(pq::PQ::latest_schema_version())) !=
          std::string::npos);
    CHECK(pq.schema_version() == pq::PQ::latest_schema_version());
    auto version = Child({"version", "--db", "postgresql://nobody@127.0.0.1:1/x?connect_timeout=1"}).finish();
    CHECK(version.code == 0);
    CHECK(version.out.starts_with("pq "));
    auto as_json = Child({"version", "--json"}).finish();
    CHECK(int64_t(json(as_json.out)["schema_version"]) == pq::PQ::latest_schema_version());
  }

  TEST_CASE("without --db, DATABASE_URL names the database; --db may come before the command") {
    auto pq = test::fresh();
    pq["env"].put("1");
    auto outcome = Child({"stats", "--schema", pq.options().schema}, {"DATABASE_URL=" + test::server().url()}).finish();
    CHECK(outcome.code == 0);
    CHECK(outcome.out.find("env") != std::string::npos);
    // The connection options may also come before the command.
    auto first = Child({"--db", test::server().url(), "--schema", pq.options().schema, "stats", "--json"}).finish();
    CHECK(first.code == 0);
    CHECK(first.out.find("\"env\"") != std::string::npos);
  }

  TEST_CASE("bad input is a one-line usage error, exit 2") {
    auto pq = test::fresh();
    check_error(run(pq, {"put", "q", R"({"kind": Cox})"}), 2, "malformed JSON at offset 9");
    check_error(run(pq, {"put", "q"}, "{"), 2, "malformed JSON");
    check_error(run(pq, {"put", "q", "1", "--at", "5x"}), 2,
                "pq: bad duration '5x': expected seconds (1.5), or a number followed by ms, s, m, h or d (500ms, 90s, "
                "5m, 2h, 1d), or an ISO-8601 time");
    check_error(run(pq, {"put", "q", "1", "--expected", "2026-02-30T00:00:00Z"}), 2, "is not a date");
    check_error(run(pq, {"put", "q", "1", "--priority", "high"}), 2, "bad --priority 'high': expected an integer");
    check_error(run(pq, {"put", "q", "1", "--priority", "40000"}), 2, "priority 40000 is out of range");
    check_error(run(pq, {"put", "q", "1", "--max-attempts", "0"}), 2, "max_attempts is 0");
    check_error(run(pq, {"put", std::string(129, 'q'), "1"}), 2, "queue name is 129 bytes long");
    check_error(run(pq, {"put", "q", "--file", "/nonexistent/x.json"}), 2, "cannot read '/nonexistent/x.json'");
    check_error(run(pq, {"put"}), 2, "put needs a QUEUE");
    check_error(run(pq, {"put", "q", "1", "2"}), 2, "unexpected argument '2'");
    check_error(run(pq, {"put", "q", "1", "--file", "x.json"}), 2, "not both");
    check_error(run(pq, {"jobs", "--state", "bogus"}), 2, "unknown job state 'bogus'");
    check_error(run(pq, {"jobs", "--limit", "0"}), 2, "limit is 0");
    check_error(run(pq, {"jobs", "--bogus"}), 2, "'bogus' does not exist (see pq jobs --help)");
    check_error(run(pq, {"frobnicate"}), 2, "unknown command 'frobnicate'");
    check_error(run(pq, {"put", "q", "-0"}), 2, "'-0' reads as an option; to give it as a value, put it last, after --");
    check_error(run(pq, {"show", "-5"}), 2, "'-5' reads as an option");
    check_error(Child({"--db"}).finish(), 2, "--db needs a value");
    check_error(run(pq, {"put", "q", "1", "--priority", "-5", "-7"}), 2, "'-7' reads as an option");
    CHECK(test::scalar(pq, "select count(*) from \"" + pq.options().schema + "\".jobs") == "0");
    auto args = connection(pq);
    args.insert(args.end(), {"put", "q", "--", "-0"});
    CHECK(Child(args).finish().code == 0);
  }

  TEST_CASE("a password given with --db does not stay in the command line that ps shows") {
    auto pq = test::fresh();
    const auto& url = test::server().url();  // key=value: host=DIR port=P user=... dbname=...
    auto value_of = [&](std::string_view key) {
      auto at = url.find(std::string(key) + "=") + key.size() + 1;
      return url.substr(at, url.find(' ', at) - at);
    };
    const std::string secret = "s3cret-pw";
    const std::string uri = fmt::format("postgresql://{}:{}@/{}?host={}&port={}", value_of("user"), secret,
                                        value_of("dbname"), value_of("host"), value_of("port"));
    const std::string uri_query = fmt::format("postgresql:///{}?host={}&password={}&port={}&user={}",
                                              value_of("dbname"), value_of("host"), secret, value_of("port"),
                                              value_of("user"));
    for (const auto& db : std::vector<std::vector<std::string>>{
             {"--db", uri}, {"--db=" + uri}, {"--db", uri_query}, {"--db", url + " password=" + secret},
             {"--db=" + url + " password = '" + secret + "'"}}) {
      CAPTURE(db[0]);
      std::vector<std::string> args{"get", "empty", "--wait", "30", "--schema", pq.options().schema};
      args.insert(args.end(), db.begin(), db.end());
      Child blocked(args);
      auto cmdline = [&] {
        return test::read_file(fmt::format("/proc/{}/cmdline", blocked.pid()));
      };
      CHECK(test::wait_until([&] {
        auto text = cmdline();
        return text.find("--wait") != std::string::npos && text.find(secret) == std::string::npos;
      }));
      auto text = cmdline();
      CHECK(text.find("empty") != std::string::npos);
      CHECK(text.find("host=") != std::string::npos);
      CHECK(text.find(std::string(secret.size(), '*')) != std::string::npos);
      blocked.signal(SIGTERM);
      blocked.finish();
    }
  }

  TEST_CASE("an unreachable database is exit 3, one line, and never shows the password") {
    const std::string dead = "postgresql://x:secret@127.0.0.1:1/db?connect_timeout=2";
    for (const auto& args : std::vector<std::vector<std::string>>{
             {"stats"}, {"put", "q", "1"}, {"get", "q"}, {"jobs"}, {"cancel", "1"}, {"migrate"}, {"top"}}) {
      auto with_db = args;
      with_db.insert(with_db.end(), {"--db", dead});
      auto outcome = Child(with_db).finish();
      CAPTURE(args[0]);
      check_error(outcome, 3, "cannot connect to database \"db\" as \"x\" at 127.0.0.1:1");
      CHECK(outcome.err.find("secret") == std::string::npos);
      CHECK(outcome.out.find("secret") == std::string::npos);
    }
  }

  TEST_CASE("a schema without pq's tables is exit 3 with what to do") {
    pq::PQ pq{test::server().url(), {.schema = pq::testing::unique_name("none")}};
    check_error(run(pq, {"stats"}), 3, "run `pq migrate`");
  }

  TEST_CASE("help documents the commands and exit codes") {
    auto help = Child({"--help"}).finish();
    CHECK(help.code == 0);
    for (const char* text : {"exit codes", "0  done", "1  nothing to get", "2  usage error", "3  database error",
                             "put QUEUE", "get QUEUE", "stats", "top", "jobs", "show ID", "retry ID", "cancel ID",
                             "purge", "migrate", "version"}) {
      CAPTURE(text);
      CHECK(help.out.find(text) != std::string::npos);
    }
    auto put = Child({"put", "--help"}).finish();
    CHECK(put.code == 0);
    CHECK(put.out.find("--ndjson") != std::string::npos);
    CHECK(Child({"help", "retry"}).finish().out.find("--state") != std::string::npos);
    auto bare = Child(std::vector<std::string>{}).finish();
    CHECK(bare.code == 2);
    CHECK(bare.err.find("exit codes") != std::string::npos);
  }
}
