// The chaos suites' pq-worker plugin: handlers that leave a trace of every run in application tables, so a
// test can count runs and committed effects after workers were killed, stopped or cut off.
#include <pq/pq.hpp>
#include <unistd.h>

#include <cstdio>
#include <cstdlib>
#include <random>
#include <thread>

using namespace std::chrono_literals;

namespace {

// The application's own connection, as a leased handler would have one: its writes commit at once,
// whatever becomes of the job afterwards.
auto database() -> pq::PQ& {
  const char* url = std::getenv("PQ_CHAOS_DB");
  static pq::PQ db{url != nullptr ? url : "", {.max_connections = 4}};
  return db;
}

void pause_up_to(int max_ms) {
  thread_local std::minstd_rand random{std::random_device{}()};
  std::this_thread::sleep_for(std::chrono::milliseconds(random() % static_cast<unsigned>(max_ms + 1)));
}

// Tells the test, through the worker's output, that a first attempt is under way.
void announce(const pq::Context& context) {
  std::fprintf(stderr, "started job %lld attempt %d\n", static_cast<long long>(context.job().id), context.attempt());
  std::fflush(stderr);
}

}  // namespace

PQ_PLUGIN(registry) {
  // Leased: each run is recorded and committed first, then the handler works a while; a worker killed in
  // between leaves a recorded run whose job runs again (at least once).
  registry.task(
      "soak", "leased",
      [](pq::Context& context, const std::string& table, int pause_ms) {
        auto tx = database().begin();
        tx.exec("insert into " + table + " (job, attempt, pid) values ($1, $2, $3)",
                {context.job().id, context.attempt(), static_cast<int>(::getpid())});
        tx.commit();
        pause_up_to(pause_ms);
      },
      {.max_attempts = 100});
  // Transactional: the effect commits with the job's completion or not at all (exactly once).
  registry.task(
      "soak", "transactional",
      [](pq::Context& context, const std::string& table, int pause_ms) {
        context.transaction().exec("insert into " + table + " (job, attempt, pid) values ($1, $2, $3)",
                                   {context.job().id, context.attempt(), static_cast<int>(::getpid())});
        pause_up_to(pause_ms);
      },
      {.max_attempts = 100, .transactional = true});

  // A first attempt that outlives its lease and ignores requests to stop, then ends as `mode` says: "ok",
  // "retry" (an error) or "fail" (an error no retry can fix). Later attempts succeed at once, except with
  // "again", where the second runs until it is asked to stop: the first one's result then arrives while
  // the job is running again, elsewhere.
  registry.task(
      "fence", "late",
      [](pq::Context& context, const std::string& mode, int sleep_ms) {
        if (context.attempt() > 1) {
          for (int waited = 0; mode == "again" && !context.stop_requested() && waited < 120000; waited += 10) {
            std::this_thread::sleep_for(10ms);
          }
          return;
        }
        announce(context);
        std::this_thread::sleep_for(std::chrono::milliseconds(sleep_ms));
        if (mode == "retry") throw std::runtime_error("late error");
        if (mode == "fail") throw pq::DecodeError("late permanent error");
      },
      {.max_attempts = 5, .retry_in = 0ms});
  // The same inside the job's transaction; its timeout lets the server end a transaction left idle.
  registry.task(
      "fence", "late_tx",
      [](pq::Context& context, const std::string& table, int sleep_ms) {
        context.transaction().exec("insert into " + table + " (job, attempt, pid) values ($1, $2, $3)",
                                   {context.job().id, context.attempt(), static_cast<int>(::getpid())});
        if (context.attempt() > 1) return;
        announce(context);
        std::this_thread::sleep_for(std::chrono::milliseconds(sleep_ms));
      },
      {.max_attempts = 5, .retry_in = 0ms, .timeout = 1s, .transactional = true});
}
