// pq put as people and scripts use it: JSON from an argument, stdin, a file or NDJSON in bulk, its options,
// its limits and its errors, checked through the built binary.
#include <filesystem>
#include <fstream>
#include <set>
#include <string>
#include <vector>

#include "cli/cli.hpp"
#include "process.hpp"
#include "support.hpp"

using namespace cli;
using namespace std::chrono_literals;

TEST_SUITE("cli") {
  TEST_CASE("put takes JSON from the argument, stdin or a file; get prints it and completes the job") {
    auto pq = test::fresh();
    auto first = id_of(run(pq, {"put", "apples", R"({"kind":"Cox"})"}));
    auto second = id_of(run(pq, {"put", "apples"}, R"({"kind":"Arthur Turner"})"));
    const auto path = (std::filesystem::temp_directory_path() / (pq.options().schema + ".json")).string();
    std::ofstream(path) << "[1, 2]\n";
    auto third = id_of(run(pq, {"put", "apples", "--file", path}));
    std::filesystem::remove(path);
    auto fourth = id_of(run(pq, {"put", "apples", "--file", "-"}, "\"dash\""));
    CHECK(first < second);
    CHECK(second < third);
    CHECK(third < fourth);

    auto got = run(pq, {"get", "apples"});
    CHECK(got.code == 0);
    CHECK(got.out == "{\"kind\": \"Cox\"}\n");
    CHECK(got.err.empty());
    CHECK(test::state_of(pq, first) == pq::JobState::completed);
    CHECK(run(pq, {"get", "apples"}).out == "{\"kind\": \"Arthur Turner\"}\n");
    CHECK(run(pq, {"get", "apples"}).out == "[1, 2]\n");
    auto as_json = run(pq, {"get", "apples", "--json"});
    REQUIRE(as_json.code == 0);
    CHECK(int64_t(json(as_json.out)["id"]) == fourth);
    CHECK(std::string_view(json(as_json.out)["state"]) == "completed");
    CHECK(std::string_view(json(as_json.out)["data"]) == "dash");

    check_error(run(pq, {"get", "apples"}), 1, "queue 'apples' is empty");
    check_error(run(pq, {"get", "never used"}), 1, "queue 'never used' is empty");
    // A name with control characters may be refused or quoted, but never reaches the terminal as it is.
    auto escape = run(pq, {"get", "x\033[2Jy"});
    CHECK(escape.code != 0);
    CHECK(escape.err.find('\033') == std::string::npos);
  }

  TEST_CASE("put whose ids cannot be written out puts nothing; other output errors are exit 3 too") {
    auto pq = test::fresh();
    for (auto stdout_to : {Stdout::full, Stdout::closed, Stdout::broken}) {
      CAPTURE(static_cast<int>(stdout_to));
      check_error(run_to(stdout_to, pq, {"put", "out", "1"}), 3, "cannot write to stdout: ");
      check_error(run_to(stdout_to, pq, {"put", "out"}, "2"), 3, "the job was not put");
      check_error(run_to(stdout_to, pq, {"put", "out", "--ndjson"}, "1\n2\n"), 3, "no job was put");
      CHECK(pq["out"].size() == 0);
      check_error(run_to(stdout_to, pq, {"stats", "--json"}), 3, "cannot write to stdout: ");
      check_error(run_to(stdout_to, pq, {"jobs"}), 3, "cannot write to stdout: ");
    }
    CHECK(test::scalar(pq, "select count(*) from \"" + pq.options().schema + "\".jobs") == "0");
  }

  TEST_CASE("put options reach the job") {
    auto pq = test::fresh();
    auto later = pq.job(id_of(run(pq, {"put", "q", "1", "--at", "1h", "--kind", "eat", "--max-attempts", "3"})));
    REQUIRE(later);
    CHECK(later->state == pq::JobState::scheduled);
    CHECK(later->schedule_at > later->enqueued_at + 59min);
    CHECK(later->kind == "eat");
    CHECK(later->max_attempts == 3);
    auto past = pq.job(id_of(run(pq, {"put", "q", "2", "--at", "2020-01-01T00:00:00Z"})));
    CHECK(past->state == pq::JobState::available);
    CHECK(past->schedule_at == std::chrono::sys_days{std::chrono::year{2020} / 1 / 1});
    auto expected = pq.job(id_of(run(pq, {"put", "q", "3", "--expected", "2026-12-01T10:00:00+01:00",
                                          "--priority", "-5"})));
    REQUIRE(expected->expected_at);
    CHECK(*expected->expected_at == std::chrono::sys_days{std::chrono::year{2026} / 12 / 1} + 9h);
    CHECK(expected->priority == -5);
    auto printed = run(pq, {"put", "q", "4", "--json"});
    REQUIRE(printed.code == 0);
    CHECK(pq.job(int64_t(json(printed.out)["id"]))->data == "4");
  }

  TEST_CASE("put --ndjson puts 100,000 lines in bulk and prints their ids") {
    auto pq = test::fresh();
    std::string input;
    for (int i = 0; i < 100'000; ++i) input += "{\"n\":" + std::to_string(i) + (i % 25'000 == 0 ? "}\n\n" : "}\n");
    auto outcome = run(pq, {"put", "bulk", "--ndjson"}, input);
    REQUIRE(outcome.code == 0);
    CHECK(outcome.err.empty());
    auto printed = lines(outcome.out);
    REQUIRE(printed.size() == 100'000);
    std::set<std::int64_t> ids;
    for (const auto& line : printed) ids.insert(std::stoll(line));
    CHECK(ids.size() == 100'000);
    CHECK(pq["bulk"].size() == 100'000);
    auto first = pq.job(std::stoll(printed.front()));
    auto last = pq.job(std::stoll(printed.back()));
    CHECK(first->data == "{\"n\": 0}");
    CHECK(last->data == "{\"n\": 99999}");

    auto as_json = run(pq, {"put", "small", "--ndjson", "--json"}, "1\n2\n");
    REQUIRE(as_json.code == 0);
    auto objects = lines(as_json.out);
    REQUIRE(objects.size() == 2);
    CHECK(pq.job(int64_t(json(objects[1])["id"]))->data == "2");
  }

  TEST_CASE("input over the payload limit is refused before it is read whole, and nothing is put") {
    auto pq = test::fresh();
    const std::string huge = "\"" + std::string(3U << 20U, 'x') + "\"";
    auto lines_in = run(pq, {"put", "big", "--ndjson"}, "1\n" + huge + "\n2\n");
    check_error(lines_in, 2, "line 2 is longer than 1048576 bytes, the limit for one job; no job was put");
    check_error(run(pq, {"put", "big"}, huge), 2, "stdin holds more than 1048576 bytes, the limit for one job");
    const auto path = test::scratch("huge.json");
    std::ofstream(path) << huge;
    check_error(run(pq, {"put", "big", "--file", path}), 2, "holds more than 1048576 bytes");
    CHECK(pq["big"].size() == 0);
  }

  TEST_CASE("an unreadable stdin or file is an error, not an empty input") {
    auto pq = test::fresh();
    for (auto stdin_from : {Stdin::closed, Stdin::directory}) {
      CAPTURE(static_cast<int>(stdin_from));
      auto args = std::vector<std::string>{"put", "q", "--ndjson"};
      auto extra = connection(pq);
      args.insert(args.end(), extra.begin(), extra.end());
      check_error(Child(args, {}, Stdout::pipe, stdin_from).finish(), 2, "cannot read stdin: ");
      args.erase(args.begin() + 2);
      check_error(Child(args, {}, Stdout::pipe, stdin_from).finish(), 2, "cannot read stdin: ");
    }
    check_error(run(pq, {"put", "q", "--file", "/tmp"}), 2, "cannot read '/tmp': it is a directory");
    check_error(run(pq, {"put", "q", "--ndjson", "--file", "/tmp"}), 2, "cannot read '/tmp': it is a directory");
    CHECK(pq["q"].size() == 0);
  }

  TEST_CASE("put --ndjson with a malformed line puts nothing and names the line") {
    auto pq = test::fresh();
    std::string input;
    for (int i = 0; i < 15'000; ++i) input += std::to_string(i) + "\n";
    input += "\n{\"a\": nope}\n1\n";
    check_error(run(pq, {"put", "bad", "--ndjson"}, input), 2, "line 15002: malformed JSON at offset 6");
    CHECK(run(pq, {"put", "bad", "--ndjson"}, input).err.find("no job was put") != std::string::npos);
    CHECK(pq["bad"].size() == 0);
    check_error(run(pq, {"put", "bad", "--ndjson", "1"}), 2, "--ndjson reads its jobs from --file or stdin");
  }
}
