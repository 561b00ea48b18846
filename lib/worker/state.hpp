// What the parts of a pq::Worker share: the jobs in hand, the results to write, and the way they wake each
// other. Everything mutable sits behind `mutex`, except the atomics.
#pragma once

#include <algorithm>
#include <atomic>
#include <chrono>
#include <condition_variable>
#include <cstdint>
#include <deque>
#include <map>
#include <memory>
#include <mutex>
#include <optional>
#include <span>
#include <stop_token>
#include <string>
#include <thread>
#include <unordered_map>
#include <vector>

#include "common/log.hpp"
#include "common/wakeup.hpp"
#include "pq/connection.hpp"
#include "pq/task.hpp"
#include "pq/worker.hpp"

namespace pq::pg {
class Session;
}

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
  /// Its result is no longer wanted: it timed out, or was released at shutdown.
  bool abandoned = false;
  /// Its thread was detached at shutdown and must leave as soon as the handler returns.
  bool detached = false;
  /// It ran past its timeout (set by the completer): a transactional run must not commit after that.
  std::atomic<bool> timed_out{false};
  /// A transactional job whose transaction has locked its row: from then on the transaction, not the lease,
  /// keeps the job from being rescued, and a heartbeat would wait on the lock.
  std::atomic<bool> in_transaction{false};

  [[nodiscard]] auto transactional() const noexcept -> bool { return handler && handler->options.transactional; }
  /// Attempts this run may use: the row's max_attempts, capped by its handler's, so that neither a producer
  /// nor the worker's handler can make a job run more often than the other allows.
  [[nodiscard]] auto max_attempts() const noexcept -> int {
    return handler ? std::min(job.max_attempts, handler->options.max_attempts) : job.max_attempts;
  }
  /// "queue/kind", or just "queue" for a job without a kind: how logs name the job's handler.
  [[nodiscard]] auto where() const -> std::string { return job.kind.empty() ? job.queue : job.queue + "/" + job.kind; }
};

/// A job's result, for the completer to write.
struct Outcome {
  enum class Kind { completed, retry, failed, released };
  Kind kind = Kind::completed;
  std::int64_t id = 0;
  int attempt = 0;
  int max_attempts = 0;
  std::string where;  ///< "queue/kind", for logs
  std::string error;
  std::chrono::microseconds delay{};
};

struct Counters {
  std::atomic<std::int64_t> claimed{0};
  std::atomic<std::int64_t> completed{0};
  std::atomic<std::int64_t> retried{0};
  std::atomic<std::int64_t> failed{0};
  std::atomic<std::int64_t> released{0};
  std::atomic<std::int64_t> cancelled{0};
  std::atomic<std::int64_t> lost{0};
};

struct Shared {
  Shared(PQ database, WorkerOptions settings);

  PQ pq;
  WorkerOptions options;
  std::vector<std::string> queues;
  /// Per queue, the kinds with a handler: the only ones the worker claims.
  std::map<std::string, std::vector<std::string>, std::less<>> kinds;
  Log log;
  Counters counters;

  std::mutex mutex;
  std::condition_variable work_ready;  // executors: a claimed job waits, or it is time to leave
  std::condition_variable job_done;    // shutdown: a running job finished
  std::condition_variable outcome_ready;  // completer: results wait, or it is time to leave
  /// Held by a heartbeat while it is sent, and by a transactional job while it enters its transaction: a
  /// heartbeat never renews (and so never waits on) a row that a job's transaction has locked.
  std::mutex heartbeat_mutex;
  std::deque<std::shared_ptr<RunningJob>> ready;  // claimed, not started
  std::unordered_map<std::int64_t, std::shared_ptr<RunningJob>> running;
  /// Timed out, their handlers still running: each keeps its executor, and so its slot, until it returns,
  /// and its job is not started again in this worker meanwhile.
  std::unordered_map<std::int64_t, std::shared_ptr<RunningJob>> abandoned;
  std::deque<Outcome> outcomes;
  /// Completions that go out with the fetcher's next claim, in its statement (queue/claim_completing.sql):
  /// they are made when a finished job also frees a slot to claim for. The fetcher hands them to the
  /// completer whenever it is not about to claim.
  std::vector<Outcome> riders;
  bool fetcher_claims = false;  // the fetcher runs and takes riders
  std::size_t unwritten = 0;  // outcomes and riders queued or being written: a burst is not done before they are
  int scouting = 0;  // slots reserved for the scout's claims in flight (lib/worker/scout.hpp)
  std::map<std::thread::id, std::thread> executors;
  bool executors_leave = false;
  bool completer_leave = false;

  std::atomic<bool> stopping{false};
  std::atomic<int> stops{0};         // stop signals received: a second one cuts the grace period short
  std::atomic<bool> quiet{false};    // SIGTSTP: claim nothing more
  /// The completer rescued jobs (Rescuer): the fetcher promotes them when its queues run dry, and its next
  /// claims start at the head.
  std::atomic<bool> rescued{false};
  Wakeup wake_fetcher;  // a slot came free, or stop

  // Running averages, in seconds, of how long a handler runs and a claim takes: how many jobs to claim ahead.
  double job_seconds = 0;
  double claim_seconds = 0;

  /// Jobs in hand: claimed and not yet finished, or abandoned and still holding their executor, and the slots
  /// a claim of the scout's will fill.
  [[nodiscard]] auto in_hand() const noexcept -> std::size_t {
    return ready.size() + running.size() + abandoned.size() + static_cast<std::size_t>(scouting);
  }
  /// Nothing claimed, running or waiting to be written. A timed-out handler that still runs does not count:
  /// its outcome is written already, and a burst does not wait for a handler that may never return.
  [[nodiscard]] auto settled() const noexcept -> bool {
    return ready.empty() && running.empty() && unwritten == 0 && scouting == 0;
  }
  /// Queues an outcome for the completer (call with `mutex` held).
  void push_outcome(Outcome outcome);
  /// Gives the riders to the completer (call with `mutex` held).
  void unload_riders();
  /// Claimed jobs to the executors, and the `reserved` slots they were claimed for back (takes `mutex`).
  void hand_out(std::vector<Job> jobs, int reserved = 0);
  /// Jobs worth claiming ahead of free slots now (call with `mutex` held).
  [[nodiscard]] auto prefetch_target() const -> int;
  /// Jobs to claim now, 0 while the buffer of claimed jobs is still half full (call with `mutex` held).
  [[nodiscard]] auto claim_wanted() const -> int;
};

/// Rescues the expired leases of the worker's queues (a dead worker's jobs), at most every half lease, unless
/// `rescue` is off. The completer does it, off the fetcher's path: under a held xmin horizon the statement
/// reads the dead entries of every job that ran since (189 ms after five minutes of W6), and claims would wait
/// meanwhile. A burst worker's fetcher does it itself when its queues run dry, so that the burst ends only
/// after it.
class Rescuer {
 public:
  /// Whether a rescue is due now; if so, the next one is half a lease away, whatever this one meets.
  auto due(const Shared& shared) -> bool;
  /// Rescues and logs each job; returns how many. Throws what the database says.
  static auto run(Shared& shared, pg::Session& session) -> std::size_t;

 private:
  static constexpr int kBatch = 1000;
  SteadyClock::time_point next_{};
};

/// Folds `sample` into a running average that follows the last ten or so samples.
void average_into(double& average, double sample);

/// The result of a failed run: retry after the task's backoff while attempts remain, else fail.
auto retry_or_fail(const RunningJob& job, std::string error) -> Outcome;
auto outcome(const RunningJob& job, Outcome::Kind kind, std::string error = {}) -> Outcome;

/// Starts one executor thread (call with `mutex` held).
void start_executor(const std::shared_ptr<Shared>& shared);
/// Gives up on a job past its timeout (call with `mutex` held): its handler is asked to stop and its result
/// will be dropped. A C++ thread cannot be killed, so the handler keeps its executor until it returns.
void abandon(const std::shared_ptr<Shared>& shared, const std::shared_ptr<RunningJob>& job);
/// At shutdown, past the grace period (call with `mutex` held): the job's thread is detached, so that a
/// handler that never returns cannot hold the process.
void detach(const std::shared_ptr<Shared>& shared, RunningJob& job);

/// Counts and logs outcomes of one kind by what the database did with them: `written` ids, `cancelled` ids,
/// and the rest lost to a lease that passed on.
void report(Shared& shared, std::span<const Outcome> group, const std::vector<std::int64_t>& written,
            const std::vector<std::int64_t>& cancelled);

/// The completer thread's body: writes outcomes in batches, heartbeats leases, enforces timeouts.
void run_completer(const std::shared_ptr<Shared>& shared);
/// The fetcher, in the thread that called Worker::run(): claims jobs while slots are free.
void run_fetcher(const std::shared_ptr<Shared>& shared);

}  // namespace pq::worker
