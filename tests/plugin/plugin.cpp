// A pq-worker plugin, built by the test suite and loaded with --plugin.
#include <pq/pq.hpp>

#include <cstdlib>
#include <stdexcept>
#include <string>
#include <thread>

PQ_PLUGIN(registry) {
  // A plugin whose set-up fails, for the test of what pq-worker then says.
  if (std::getenv("PQ_TEST_PLUGIN_FAILS") != nullptr) throw std::runtime_error("its set-up failed");
  // Writes one row per job into the table it is given, in the transaction that completes the job.
  registry.task(
      "plugin", "record",
      [](pq::Context& context, const std::string& table, int n) {
        context.transaction().exec("insert into " + table + " values ($1, $2)", {context.job().id, n});
      },
      {.transactional = true});
  // Hangs on its first attempt (so that a test can kill its worker mid-job), succeeds afterwards.
  registry.task(
      "plugin", "hang_once",
      [](pq::Context& context) {
        while (context.attempt() == 1) std::this_thread::sleep_for(std::chrono::milliseconds(50));
      },
      {.max_attempts = 3, .retry_in = std::chrono::milliseconds(0)});
}
