// pq::Worker: claims jobs of some queues and runs their registered handlers.
#pragma once

#include <chrono>
#include <cstdint>
#include <functional>
#include <memory>
#include <string>
#include <string_view>
#include <vector>

#include "pq/connection.hpp"
#include "pq/task.hpp"

namespace pq {

enum class LogLevel { debug, info, warning, error };

/// Where pq's services write their one-line events. Messages never contain a password.
using LogSink = std::function<void(LogLevel level, std::string_view message)>;
/// Writes "<UTC time> <level> <message>" lines to stderr for events at `min` and above.
auto stderr_log(LogLevel min = LogLevel::info) -> LogSink;

struct WorkerOptions {
  /// Queues to work; empty means every queue with a registered task.
  std::vector<std::string> queues{};
  /// Jobs run at once (handler threads).
  int concurrency = 10;
  /// Most jobs claimed ahead of free slots. The worker claims ahead only as many as keep its handlers busy for
  /// about two claims (from the running averages of job and claim times), so short jobs come in batches of
  /// one round trip while long ones are claimed as slots free; a claimed job still waiting after
  /// max(1 s, lease / 10) goes back to its queue. 0: claim only for free slots.
  int prefetch = 1000;
  /// Claimed jobs are leased this long; heartbeats every third of it extend the leases of running jobs, so
  /// a dead worker's jobs are rescued within about one lease.
  std::chrono::milliseconds lease = std::chrono::seconds(30);
  /// On stop: how long running jobs may finish before they are released back to `available`.
  std::chrono::milliseconds shutdown_grace = std::chrono::seconds(30);
  /// Return from run() once the queues have nothing available (and all results are written).
  bool burst = false;
  /// In burst mode, first wait for scheduled jobs (retries among them) that fall due within this long.
  std::chrono::milliseconds burst_wait{0};
  /// Rescue the worker's own queues' jobs whose lease expired (a dead worker's), at most every half lease, so
  /// that they are not stuck without pq-scheduler. The completer does it on its session, so claims never wait
  /// for it (a burst worker's fetcher does it itself when its queues are idle, before the burst ends).
  bool rescue = true;
  /// While run() runs: SIGTERM or SIGINT stop gracefully, a second one stops without waiting for the grace
  /// period, and SIGTSTP makes the worker quiet (it claims nothing more and finishes what runs). Several
  /// Workers and Schedulers of one process may all handle them; each signal reaches every one.
  bool handle_signals = true;
  /// Identifies the worker in locked_by; default "<host>:<pid>:<random>".
  std::string id{};
  /// Default: stderr_log(LogLevel::info).
  LogSink log{};
};

/// What a worker has done so far.
struct WorkerStats {
  std::int64_t claimed = 0;
  std::int64_t completed = 0;
  std::int64_t retried = 0;
  std::int64_t failed = 0;
  std::int64_t released = 0;
  std::int64_t cancelled = 0;  ///< stopped by a cancel request
  std::int64_t lost = 0;  ///< results discarded because the lease had passed to another attempt
};

/// A fetcher claims as many jobs as there are free slots, executors run handlers on a thread pool, and a
/// completer writes results in batches, each guarded by (attempt, worker), and heartbeats the leases.
class Worker {
 public:
  /// Handlers come from `pq`'s registry (pq::Queue::task, pq::Registry).
  explicit Worker(PQ pq, WorkerOptions options = {});
  ~Worker();
  Worker(const Worker&) = delete;
  auto operator=(const Worker&) -> Worker& = delete;

  /// Works until stop(), a signal (with handle_signals), or, in burst mode, empty queues. Throws
  /// pq::UsageError when the worker has nothing to run (no queue, no handler).
  void run();
  /// Asks run() to shut down gracefully; thread-safe and async-signal-safe.
  void stop() noexcept;

  [[nodiscard]] auto id() const -> const std::string&;
  [[nodiscard]] auto stats() const -> WorkerStats;

  struct State;

 private:
  std::shared_ptr<State> state_;
};

/// The main of pq-worker, for applications that build their own worker binary with their handlers in
/// `registry`. Options: --db URL --queues a,b --concurrency N [--lease S] [--plugin lib.so]...
/// [--exec KIND=COMMAND]... [--burst] [--quiet|--verbose]; `--help` lists them all. Returns the exit code.
auto worker_main(int argc, char** argv, Registry registry = {}) -> int;

/// A handler that runs `command` under /bin/sh -c for each job: the job's data on stdin, PQ_JOB_ID,
/// PQ_JOB_ATTEMPT and PQ_QUEUE in the environment; exit 0 is success, anything else an error whose
/// message is the tail of stderr. The process group is killed when the job times out or is stopped.
auto exec_handler(std::string queue, std::string kind, std::string command, TaskOptions options = {})
    -> TaskHandler;

/// Loads a plugin (a shared library defining PQ_PLUGIN) and lets it register its tasks.
void load_plugin(const std::string& path, Registry& registry);

}  // namespace pq
