// --exec commands as pq-worker runs them: their environment, their process groups, their stderr.
#include <signal.h>

#include "process.hpp"
#include "support.hpp"

using namespace std::chrono_literals;

namespace {

auto worker_args(pq::PQ& pq, std::vector<std::string> extra) -> std::vector<std::string> {
  return test::pq_command("PQ_WORKER_BIN", test::server().url(), pq.options().schema, std::move(extra));
}

}  // namespace

TEST_SUITE("exec") {
  // Each test sleeps for a duration of its own, so that counting "sleep N" processes finds only its commands.

  TEST_CASE("a command that closes its stderr is still killed at its timeout") {
    auto pq = test::fresh();
    auto id = pq["closed"].put("{}", {.max_attempts = 1, .kind = "c"});
    REQUIRE(test::count_processes("sleep 31") == 0);
    test::Child worker(worker_args(pq, {"--queues", "closed", "--burst", "--timeout", "1", "--exec",
                                        "c=exec 2>&-; sleep 31"}),
                       {}, test::scratch("worker.log"));
    REQUIRE(test::wait_until([&] { return pq.job(id)->state == pq::JobState::failed; }, 30s));
    CHECK(pq.job(id)->errors.find("timed out after 1000 ms") != std::string::npos);
    CHECK(test::wait_until([] { return test::count_processes("sleep 31") == 0; }, 10s));
    CHECK(worker.wait(30s) == 0);
  }

  TEST_CASE("a command that closes its stderr is killed at the worker's shutdown") {
    auto pq = test::fresh();
    auto id = pq["closed"].put("{}", {.max_attempts = 1, .kind = "c"});
    REQUIRE(test::count_processes("sleep 32") == 0);
    test::Child worker(worker_args(pq, {"--queues", "closed", "--grace", "0.5", "--exec", "c=exec 2>&-; sleep 32"}),
                       {}, test::scratch("worker.log"));
    REQUIRE(test::wait_until([] { return test::count_processes("sleep 32") == 1; }, 30s));
    worker.signal(SIGTERM);
    CHECK(worker.wait(30s) == 0);
    CHECK(test::wait_until([] { return test::count_processes("sleep 32") == 0; }, 10s));
    CHECK(pq.job(id)->state != pq::JobState::completed);
  }

  TEST_CASE("a worker killed with SIGKILL takes its command with it") {
    auto pq = test::fresh();
    pq["orphan"].put("{}", {.kind = "c"});
    REQUIRE(test::count_processes("sleep 33") == 0);
    test::Child worker(worker_args(pq, {"--queues", "orphan", "--exec", "c=exec sleep 33"}), {},
                       test::scratch("worker.log"));
    REQUIRE(test::wait_until([] { return test::count_processes("sleep 33") == 1; }, 30s));
    worker.signal(SIGKILL);
    REQUIRE(worker.wait(10s));
    CHECK(test::wait_until([] { return test::count_processes("sleep 33") == 0; }, 10s));
  }
}
