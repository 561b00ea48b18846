// The examples in other languages (examples/), run as their users run them: a Python producer and --exec
// handler, a psql producer, a C++ producer on libpqxx, each through pq's SQL API in a transaction of its own.
#include <filesystem>
#include <fstream>

#include "process.hpp"
#include "support.hpp"

using namespace std::chrono_literals;

namespace {

// Debian's interpreter, the one python3-psycopg2 is installed for (another python3 may come first on PATH).
constexpr const char* kPython = "/usr/bin/python3";

auto example(const std::string& path) -> std::string { return test::built("PQ_EXAMPLES") + "/" + path; }

// Runs a command to its end; returns its exit code and output.
auto run(std::vector<std::string> argv, const std::string& name) -> std::pair<int, std::string> {
  const auto output = test::scratch(name);
  test::Child child(std::move(argv), {}, output);
  const auto code = child.wait(60s);
  REQUIRE_MESSAGE(code.has_value(), name << " did not end within 60 s");
  return {*code, test::read_file(output)};
}

auto job_of_order(pq::PQ& pq, int order) -> std::string {
  return test::scalar(pq, "select count(*) from " + test::jobs_table(pq) + " where data @> '{\"order\": " +
                              std::to_string(order) + "}'");
}

}  // namespace

TEST_SUITE("examples") {
  TEST_CASE("Python: a producer puts in its own transaction, an --exec handler runs the jobs") {
    const auto [usable, why] = run({kPython, "-c", "import psycopg2"}, "psycopg2");
    REQUIRE_MESSAGE(usable == 0, "install python3-psycopg2 (.ci/run does): " << why);
    auto pq = test::fresh();
    test::exec(pq, "drop table if exists orders");
    const auto schema = pq.options().schema;

    auto [put, id] = run({kPython, example("python/producer.py"), test::server().url(), schema, "1"}, "put");
    REQUIRE_MESSAGE(put == 0, id);
    id.erase(id.find_last_not_of('\n') + 1);
    CHECK(pq.job(std::stoll(id))->kind == "confirm");
    CHECK(test::scalar(pq, "select count(*) from orders") == "1");
    // The transaction fails after the put: neither the order nor its job is there.
    const auto [failed, said] =
        run({kPython, example("python/producer.py"), test::server().url(), schema, "2", "--fail"}, "fail");
    CHECK(failed == 1);
    CHECK(said.find("order 2 failed after its job") != std::string::npos);
    CHECK(job_of_order(pq, 2) == "0");
    CHECK(test::scalar(pq, "select count(*) from orders") == "1");

    // A job the handler refuses fails with its stderr as the error.
    test::exec(pq, "select \"" + schema + "\".put('emails', '{\"order\": 3, \"fail\": true}', kind => 'confirm', "
                   "max_attempts => 1)");
    const auto out = test::scratch("confirmed");
    std::filesystem::create_directories(out);
    const auto [worked, log] = run(test::pq_command("PQ_WORKER_BIN", test::server().url(), schema,
                                                    {"--queues", "emails", "--burst", "--exec",
                                                     std::string("confirm=") + kPython + " " +
                                                         example("python/handler.py") + " " + out}),
                                   "worker");
    CHECK_MESSAGE(worked == 0, log);
    const auto confirmed = pq::Json::parse(test::read_file(out + "/" + id + ".json"));
    CHECK(confirmed["confirmed"].as_int() == 1);
    CHECK(confirmed["attempt"].as_int() == 1);
    CHECK(test::scalar(pq, "select state || ' ' || (errors -> 0 ->> 'error') from " + test::jobs_table(pq) +
                               " where data @> '{\"order\": 3}'") == "failed exited with status 1: order 3 cannot be confirmed");
    test::exec(pq, "drop table orders");
  }

  TEST_CASE("psql: a shell producer puts every line of its input in one transaction, or none") {
    auto pq = test::fresh();
    const auto lines = test::scratch("lines");
    // Quotes and backslashes reach the job as they were written.
    std::ofstream(lines) << R"({"text": "it's a \"test\" \\ done"})" << "\n\n" << R"({"n": 2})" << "\n";
    const auto producer = example("shell/producer.sh");
    const auto [put, ids] = run({"/bin/sh", "-c", "sh \"$0\" \"$1\" lines \"$2\" < \"$3\"", producer,
                                 test::server().url(), pq.options().schema, lines},
                                "shell");
    REQUIRE_MESSAGE(put == 0, ids);
    const auto first = std::stoll(ids.substr(0, ids.find('\n')));
    CHECK(pq::Json::parse(pq.job(first)->data)["text"].as_string() == R"(it's a "test" \ done)");
    CHECK(pq["lines"].size() == 2);

    std::ofstream(lines) << R"({"n": 3})" << "\n" << "{not json" << "\n";
    const auto [bad, said] = run({"/bin/sh", "-c", "sh \"$0\" \"$1\" lines \"$2\" < \"$3\"", producer,
                                  test::server().url(), pq.options().schema, lines},
                                 "shell-bad");
    CHECK(bad != 0);
    CHECK(said.find("invalid input syntax for type json") != std::string::npos);
    CHECK(pq["lines"].size() == 2);
  }

  TEST_CASE("libpqxx: a producer puts inside its pqxx::work") {
    auto pq = test::fresh();
    test::exec(pq, "drop table if exists orders");
    const auto program = test::built("PQ_EXAMPLE_LIBPQXX");
    const auto [put, id] = run({program, test::server().url(), pq.options().schema, "10"}, "pqxx");
    REQUIRE_MESSAGE(put == 0, id);
    CHECK(pq.job(std::stoll(id))->kind == "confirm");
    const auto [failed, said] = run({program, test::server().url(), pq.options().schema, "11", "--fail"}, "pqxx-fail");
    CHECK(failed == 1);
    CHECK(job_of_order(pq, 11) == "0");
    CHECK(test::scalar(pq, "select count(*) from orders") == "1");
    // The SQL API's errors reach the application with their SQLSTATE.
    const auto [refused, why] = run({program, test::server().url(), "no_such_schema", "12"}, "pqxx-schema");
    CHECK(refused == 3);
    CHECK(why.find("3F000") != std::string::npos);
    test::exec(pq, "drop table orders");
  }
}
