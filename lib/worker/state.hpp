// What the parts of a pq::Worker share: the jobs in hand, the results to write, and the way they wake each
// other. Everything mutable sits behind `mutex`, except the atomics.
#pragma once

#include <atomic>
#include <chrono>
#include <condition_variable>
#include <cstdint>
#include <deque>
#include <map>
#include <memory>
#include <mutex>
#include <optional>
#include <stop_token>
#include <string>
#include <thread>
#include <unordered_map>
#include <vector>

#include "log.hpp"
#include "pq/connection.hpp"
#include "pq/task.hpp"
#include "pq/worker.hpp"
#include "wakeup.hpp"

namespace pq::worker {

using SteadyClock = std::chrono::steady_clock;

/// A claimed job, from the claim until its result is handed to the completer.
struct RunningJob {
  Job job;
  std::shared_ptr<const TaskHandler> handler;  ///< null: no task of this kind in this queue
  std::stop_source stop;
  SteadyClock::time_point claimed{};
  SteadyClock::time_point started{};
  std::thread::id runner{};
  /// Its result is no longer wanted: it timed out or was released at shutdown (and a replacement thread
  /// took its executor's place).
  bool abandoned = false;

  [[nodiscard]] auto transactional() const noexcept -> bool { return handler && handler->options.transactional; }
};

/// A job's result, for the completer to write.
struct Outcome {
  enum class Kind { completed, retry, failed, released };
  Kind kind = Kind::completed;
  std::int64_t id = 0;
  int attempt = 0;
  int max_attempts = 0;
  std::string queue;
  std::string task;
  std::string error;
  std::chrono::microseconds delay{};
};

struct Counters {
  std::atomic<std::int64_t> claimed{0};
  std::atomic<std::int64_t> completed{0};
  std::atomic<std::int64_t> retried{0};
  std::atomic<std::int64_t> failed{0};
  std::atomic<std::int64_t> released{0};
  std::atomic<std::int64_t> lost{0};
};

struct Shared {
  Shared(PQ database, WorkerOptions settings);

  PQ pq;
  WorkerOptions options;
  std::vector<std::string> queues;
  Log log;
  Counters counters;

  std::mutex mutex;
  std::condition_variable work_ready;  // executors: a claimed job waits, or it is time to leave
  std::condition_variable job_done;    // shutdown: a running job finished
  std::condition_variable outcome_ready;  // completer: results wait, or it is time to leave
  std::deque<std::shared_ptr<RunningJob>> ready;  // claimed, not started
  std::unordered_map<std::int64_t, std::shared_ptr<RunningJob>> running;
  std::deque<Outcome> outcomes;
  std::size_t unwritten = 0;  // outcomes queued or being written: a burst worker is not done before they are
  std::map<std::thread::id, std::thread> executors;
  bool executors_leave = false;
  bool completer_leave = false;

  std::atomic<bool> stopping{false};
  Wakeup wake_fetcher;  // a slot came free, or stop

  // Running averages, in seconds, of how long a handler runs and a claim takes: how many jobs to claim ahead.
  double job_seconds = 0;
  double claim_seconds = 0;

  /// Jobs in hand: claimed and not yet finished.
  [[nodiscard]] auto in_hand() const noexcept -> std::size_t { return ready.size() + running.size(); }
  /// Nothing claimed, running or waiting to be written.
  [[nodiscard]] auto settled() const noexcept -> bool { return in_hand() == 0 && unwritten == 0; }
  /// Queues an outcome for the completer (call with `mutex` held).
  void push_outcome(Outcome outcome);
  /// Jobs worth claiming ahead of free slots now (call with `mutex` held).
  [[nodiscard]] auto prefetch_target() const -> int;
  /// Jobs to claim now, 0 while the buffer of claimed jobs is still half full (call with `mutex` held).
  [[nodiscard]] auto claim_wanted() const -> int;
};

/// Folds `sample` into a running average that follows the last ten or so samples.
void average_into(double& average, double sample);

/// The result of a failed run: retry after the task's backoff while attempts remain, else fail.
auto retry_or_fail(const RunningJob& job, std::string error) -> Outcome;
auto outcome(const RunningJob& job, Outcome::Kind kind, std::string error = {}) -> Outcome;

/// Starts one executor thread (call with `mutex` held).
void start_executor(const std::shared_ptr<Shared>& shared);
/// Gives up on a running job (call with `mutex` held): its handler is asked to stop, its result will be
/// dropped, and a fresh thread takes its executor's place so the worker keeps its concurrency.
void abandon(const std::shared_ptr<Shared>& shared, RunningJob& job);

/// The completer thread's body: writes outcomes in batches, heartbeats leases, enforces timeouts.
void run_completer(const std::shared_ptr<Shared>& shared);
/// The fetcher, in the thread that called Worker::run(): claims jobs while slots are free.
void run_fetcher(const std::shared_ptr<Shared>& shared);

}  // namespace pq::worker
