// --exec commands as pq-worker runs them: their environment, their process groups, their stderr.
#include <signal.h>

#include <regex>
#include <sstream>

#include "process.hpp"
#include "support.hpp"

using namespace std::chrono_literals;

namespace {

auto worker_args(pq::PQ& pq, std::vector<std::string> extra) -> std::vector<std::string> {
  return test::pq_command("PQ_WORKER_BIN", test::server().url(), pq.options().schema, std::move(extra));
}

// Every line of a service's output is one log entry: its own timestamp, a level, no terminal escapes.
void check_one_entry_per_line(const std::string& output) {
  static const std::regex kEntry(R"(^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z (debug|info|warning|error) .*)");
  std::istringstream lines(output);
  int count = 0;
  for (std::string line; std::getline(lines, line); ++count) {
    INFO(line);
    CHECK(std::regex_match(line, kEntry));
    CHECK(!line.starts_with("2026-12-01T00:00:00.000Z"));
  }
  CHECK(count > 0);
  CHECK(output.find('\x1b') == std::string::npos);
}

}  // namespace

TEST_SUITE("exec") {
  // Each test sleeps for a duration of its own, so that counting "sleep N" processes on the machine finds only
  // its own commands.

  TEST_CASE("a command that closes its stderr is still killed at its timeout") {
    auto pq = test::fresh();
    auto id = pq["closed"].put("{}", {.max_attempts = 1, .kind = "c"});
    REQUIRE(test::count_processes("sleep 31.41") == 0);
    test::Child worker(worker_args(pq, {"--queues", "closed", "--burst", "--timeout", "1", "--exec",
                                        "c=exec 2>&-; sleep 31.41"}),
                       {}, test::scratch("worker.log"));
    REQUIRE(test::wait_until([&] { return pq.job(id)->state == pq::JobState::failed; }, 30s));
    CHECK(pq.job(id)->errors.find("timed out after 1000 ms") != std::string::npos);
    CHECK(test::wait_until([] { return test::count_processes("sleep 31.41") == 0; }, 10s));
    CHECK(worker.wait(30s) == 0);
  }

  TEST_CASE("a command that closes its stderr is killed at the worker's shutdown") {
    auto pq = test::fresh();
    auto id = pq["closed"].put("{}", {.max_attempts = 1, .kind = "c"});
    REQUIRE(test::count_processes("sleep 32.42") == 0);
    test::Child worker(worker_args(pq, {"--queues", "closed", "--grace", "0.5", "--exec", "c=exec 2>&-; sleep 32.42"}),
                       {}, test::scratch("worker.log"));
    REQUIRE(test::wait_until([] { return test::count_processes("sleep 32.42") == 1; }, 30s));
    worker.signal(SIGTERM);
    CHECK(worker.wait(30s) == 0);
    CHECK(test::wait_until([] { return test::count_processes("sleep 32.42") == 0; }, 10s));
    CHECK(pq.job(id)->state != pq::JobState::completed);
  }

  TEST_CASE("a worker killed with SIGKILL takes its command's whole process group with it") {
    auto pq = test::fresh();
    pq["orphan"].put("{}", {.kind = "c"});
    REQUIRE(test::count_processes("sleep 33.43") == 0);
    test::Child worker(worker_args(pq, {"--queues", "orphan", "--exec", "c=sleep 33.43 & sleep 33.43; true"}), {},
                       test::scratch("worker.log"));
    REQUIRE(test::wait_until([] { return test::count_processes("sleep 33.43") == 2; }, 30s));
    CHECK(test::count_processes("/bin/sh -c sleep 33.43 & sleep 33.43; true") == 1);
    worker.signal(SIGKILL);
    REQUIRE(worker.wait(10s));
    CHECK(test::wait_until([] { return test::count_processes("sleep 33.43") == 0; }, 10s));
    // The shell goes with its group, but not necessarily in the same instant as the sleeps.
    CHECK(test::wait_until([] { return test::count_processes("/bin/sh -c sleep 33.43 & sleep 33.43; true") == 0; },
                           10s));
  }

  TEST_CASE("the job's error says how its command ended") {
    auto pq = test::fresh();
    auto q = pq["ends"];
    auto status = q.put("{}", {.max_attempts = 1, .kind = "status"});
    auto signal = q.put("{}", {.max_attempts = 1, .kind = "signal"});
    test::Child worker(worker_args(pq, {"--queues", "ends", "--burst", "--exec", "status=echo late >&2; exit 7",
                                        "--exec", "signal=kill -TERM $$"}),
                       {}, test::scratch("worker.log"));
    REQUIRE(worker.wait(60s) == 0);
    CHECK(pq.job(status)->errors.find("exited with status 7: late") != std::string::npos);
    CHECK(pq.job(signal)->errors.find("killed by signal 15") != std::string::npos);
  }

  TEST_CASE("a command's stderr cannot forge log entries or send terminal escapes") {
    auto pq = test::fresh();
    auto id = pq["logq"].put("{}", {.max_attempts = 1, .kind = "k"});
    // A kind stored before names were checked, written by SQL as an old client could have.
    auto old = pq["logq"].put("{}", {.max_attempts = 1, .kind = "old"});
    test::exec(pq, "update " + test::jobs_table(pq) +
                       " set kind = E'x\\n2026-12-01T00:00:00.000Z info worker forged' where id = " +
                       std::to_string(old));
    test::Child worker(worker_args(pq, {"--queues", "logq", "--burst", "--exec",
                                        "k=printf 'oops\\n2026-12-01T00:00:00.000Z info job 1 (logq/k) released\\n"
                                        "\\033[31mRED\\033[0m\\r\\n' >&2; exit 1"}),
                       {}, test::scratch("worker.log"));
    REQUIRE(worker.wait(60s) == 0);
    const auto output = worker.output();
    check_one_entry_per_line(output);
    CHECK(output.find("exited with status 1: oops\\n2026-12-01T00:00:00.000Z info job 1 (logq/k) released\\n"
                      "\\x1b[31mRED\\x1b[0m") != std::string::npos);
    // The job keeps the command's stderr as it was.
    CHECK(pq.job(id)->errors.find("\\u001b[31mRED") != std::string::npos);
  }

  TEST_CASE("a worker that cannot reach its database logs one line per attempt") {
    test::Child worker({test::built("PQ_WORKER_BIN"), "--db", "postgresql://u@127.0.0.1:1/x?connect_timeout=1",
                        "--queues", "x", "--exec", "k=true"},
                       {}, test::scratch("worker.log"));
    REQUIRE(test::wait_until([&] { return worker.output().find("reconnecting") != std::string::npos; }, 30s));
    worker.signal(SIGTERM);
    CHECK(worker.wait(30s) == 0);
    check_one_entry_per_line(worker.output());
    CHECK(worker.output().find("Connection refused; Is the server running") != std::string::npos);
  }

  TEST_CASE("commands do not see the worker's database settings") {
    auto pq = test::fresh();
    auto id = pq["envq"].put("{}", {.kind = "e"});
    auto out = test::scratch("env");
    test::Child worker(worker_args(pq, {"--queues", "envq", "--burst", "--exec", "e=env > " + out}),
                       {"DATABASE_URL=postgresql://app:sentinel-url-pw@127.0.0.1:1/app", "PGPASSWORD=sentinel-pg-pw",
                        "PGPASSFILE=/nonexistent/pgpass", "PGAPPNAME=sentinel-app", "PQ_KEPT=kept"},
                       test::scratch("worker.log"));
    REQUIRE(worker.wait(60s) == 0);
    REQUIRE(pq.job(id)->state == pq::JobState::completed);
    const auto env = test::read_file(out);
    CHECK(env.find("sentinel") == std::string::npos);
    CHECK(env.find("DATABASE_URL=") == std::string::npos);
    CHECK(env.find("\nPG") == std::string::npos);
    CHECK(!env.starts_with("PG"));
    CHECK(env.find("PQ_JOB_ID=" + std::to_string(id) + "\n") != std::string::npos);
    CHECK(env.find("PQ_JOB_ATTEMPT=1\n") != std::string::npos);
    CHECK(env.find("PQ_QUEUE=envq\n") != std::string::npos);
    CHECK(env.find("PQ_KEPT=kept\n") != std::string::npos);
    CHECK(env.find("PATH=") != std::string::npos);
  }
}
