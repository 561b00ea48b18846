// pq's looks at the queue as people and scripts use them: stats, top, jobs and show, checked through the
// built binary.
#include <fmt/core.h>

#include <csignal>
#include <cstdlib>
#include <fstream>
#include <string>

#include "cli/cli.hpp"
#include "process.hpp"
#include "support.hpp"

using namespace cli;
using namespace std::chrono_literals;

TEST_SUITE("cli") {
  TEST_CASE("jobs --json stays readable by Python's json module with the deepest job pq accepts") {
    auto pq = test::fresh();
    const std::size_t deepest = 512;
    pq["deep"].put(std::string(deepest, '[') + std::string(deepest, ']'));
    check_error(run(pq, {"put", "deep", std::string(deepest + 1, '[') + std::string(deepest + 1, ']')}), 2,
                "nested deeper than 512 levels");
    auto listed = run(pq, {"jobs", "--json"});
    REQUIRE(listed.code == 0);
    const auto path = test::scratch("jobs.json");
    std::ofstream(path) << listed.out;
    REQUIRE(std::system("command -v python3 > /dev/null") == 0);
    const auto command = fmt::format("python3 -c 'import json,sys; json.load(sys.stdin)' < '{}'", path);
    CHECK(std::system(command.c_str()) == 0);
  }

  TEST_CASE("stats count jobs per queue and state; --json for scripts") {
    auto pq = test::fresh();
    auto empty = run(pq, {"stats"});
    CHECK(empty.code == 0);
    CHECK(empty.out.find("no jobs") != std::string::npos);
    CHECK(run(pq, {"stats", "--json"}).out == "[]\n");
    pq["apples"].put("1");
    pq["apples"].put("2");
    pq["apples"].put("3", {.schedule_at = 1h});
    test::force_job(pq, pq["apples"].put("4"), test::kFailed);
    pq["pears"].put("5");
    REQUIRE(pq["pears"].get(0s));
    auto table = run(pq, {"stats"});
    CHECK(table.code == 0);
    CHECK(table.out.find("QUEUE") != std::string::npos);
    CHECK(table.out.find("apples") != std::string::npos);
    CHECK(table.out.find("pears") != std::string::npos);
    auto stats = run(pq, {"stats", "--json"});
    REQUIRE(stats.code == 0);
    simdjson::dom::array queues = json(stats.out);
    REQUIRE(queues.size() == 2);
    auto apples = queues.at(0);
    CHECK(std::string_view(apples["queue"]) == "apples");
    CHECK(int64_t(apples["available"]) == 2);
    CHECK(int64_t(apples["scheduled"]) == 1);
    CHECK(int64_t(apples["failed"]) == 1);
    CHECK(int64_t(apples["finished_last_minute"]) == 1);
    CHECK(double(apples["oldest_available_seconds"]) >= 0.0);
    auto pears = queues.at(1);
    CHECK(int64_t(pears["completed"]) == 1);
    CHECK(pears["oldest_available_seconds"].is_null());
  }

  TEST_CASE("top fits the width of its terminal; very old jobs show as >999d") {
    auto pq = test::fresh();
    pq[std::string(30, 'q')].put("1", {.schedule_at = std::chrono::sys_days{std::chrono::year{1970} / 1 / 1}});
    auto args = connection(pq);
    args.insert(args.begin(), {"top", "--iterations", "1"});
    auto narrow = Child(args, {"COLUMNS=70"}).finish();
    REQUIRE(narrow.code == 0);
    CAPTURE(narrow.out);
    CHECK(narrow.out.find("QUEUE") != std::string::npos);
    for (const auto& line : lines(narrow.out)) CHECK(line.size() <= 70);
    auto wide = Child(args, {"COLUMNS=200"}).finish();
    CHECK(wide.out.find(">999d") != std::string::npos);
    CHECK(wide.out.find("FINISHED/S") != std::string::npos);
  }

  TEST_CASE("top samples until --iterations or SIGINT") {
    auto pq = test::fresh();
    pq["apples"].put("1");
    auto bounded = run(pq, {"top", "--iterations", "2", "--interval", "1"});
    CHECK(bounded.code == 0);
    CHECK(bounded.err.empty());
    auto rows = lines(bounded.out);
    CHECK(std::count(rows.begin(), rows.end(), std::string()) == 1);  // between the two samples
    auto is_apples = [](const std::string& row) { return row.starts_with("apples"); };
    CHECK(std::count_if(rows.begin(), rows.end(), is_apples) == 2);

    auto args = connection(pq);
    args.insert(args.begin(), "top");
    Child live(args);
    REQUIRE(live.read_until("apples"));
    live.signal(SIGINT);
    auto stopped = live.finish();
    CHECK(stopped.code == 0);
    CHECK(stopped.err.empty());
    check_error(run(pq, {"top", "--interval", "0"}), 2, "--interval must be longer than 0s");
    // Without --iterations, only a failed write ends it when its reader is gone.
    check_error(run_to(Stdout::broken, pq, {"top", "--interval", "0.1"}), 3, "cannot write to stdout: Broken pipe");
    CHECK(run(pq, {"top", "--iterations", "2", "--interval", "0.2"}).code == 0);
  }

  TEST_CASE("jobs lists with filters; show prints one job and its error history") {
    auto pq = test::fresh();
    auto eat = pq["a"].put(R"({"x":1})", {.kind = "eat"});
    auto failed = pq["a"].put("2");
    test::force_job(pq, failed, test::kFailed);
    auto other = pq["b"].put("3");
    auto all = run(pq, {"jobs"});
    CHECK(all.code == 0);
    CHECK(lines(all.out).size() == 4);
    CHECK(lines(all.out)[1].find(std::to_string(other)) != std::string::npos);
    auto listed = run(pq, {"jobs", "--queue", "a", "--state", "failed", "--json"});
    REQUIRE(listed.code == 0);
    simdjson::dom::array jobs = json(listed.out);
    REQUIRE(jobs.size() == 1);
    CHECK(int64_t(jobs.at(0)["id"]) == failed);
    CHECK(int64_t(json(run(pq, {"jobs", "--kind", "eat", "--json"}).out).at(0)["id"]) == eat);
    CHECK(simdjson::dom::array(json(run(pq, {"jobs", "--limit", "2", "--json"}).out)).size() == 2);
    CHECK(run(pq, {"jobs", "--queue", "nobody"}).out == "no jobs\n");
    CHECK(run(pq, {"jobs", "--queue", "nobody", "--json"}).out == "[]\n");

    auto shown = run(pq, {"show", std::to_string(failed)});
    CHECK(shown.code == 0);
    CHECK(shown.out.find("failed") != std::string::npos);
    CHECK(shown.out.find("3 of 3") != std::string::npos);
    CHECK(shown.out.find("attempt 3 at 2026-01-01T00:00:00.000000Z: boom") != std::string::npos);
    for (const auto& line : lines(shown.out)) CHECK_FALSE(line.ends_with(' '));
    auto as_json = run(pq, {"show", std::to_string(failed), "--json"});
    REQUIRE(as_json.code == 0);
    CHECK(std::string_view(json(as_json.out)["errors"].at(0)["error"]) == "boom");
    // Error entries stored with a zone offset show in UTC like every other time.
    test::force_job(pq, failed, R"(errors = '[{"attempt": 1, "at": "2026-01-01T01:00:00+01:00", "error": "x"}]')");
    CHECK(run(pq, {"show", std::to_string(failed)}).out.find("attempt 1 at 2026-01-01T00:00:00.000000Z: x") !=
          std::string::npos);
    check_error(run(pq, {"show", "999999"}), 1, "job 999999 not found");
    check_error(run(pq, {"show", "x1"}), 2, "bad job id 'x1'");
  }
}
