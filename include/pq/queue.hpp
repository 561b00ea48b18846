// pq::Queue: put jobs in, get them out.
#pragma once

#include <chrono>
#include <cstdint>
#include <iterator>
#include <memory>
#include <optional>
#include <span>
#include <string>
#include <string_view>
#include <vector>

#include "pq/job.hpp"
#include "pq/pause.hpp"

struct pg_conn;  // libpq's PGconn, kept out of pq's headers

namespace pq {

class PQ;
class Transaction;
struct TaskOptions;
template <class F, class Args>
class Task;
namespace detail {
template <class F>
struct task_args;
}
namespace detail {
struct Shared;
}

/// How long a get may block. Any std::chrono duration converts: `get(0s)`, `get(250ms)`, `get(pq::forever)`.
using Wait = std::chrono::microseconds;
/// Wait without a deadline.
inline constexpr Wait forever = Wait::max();
/// pq's default wait.
inline constexpr Wait default_wait = std::chrono::seconds(1);

class Queue;

/// A job leased to one consumer by Queue::lease. It stays `running` until complete_lease, fail_lease or
/// release_lease finishes it, or until its lease lapses and pq-scheduler's rescuer makes it available again
/// (or failed, with its attempts used up).
struct LeasedJob {
  Job job;
  /// Names this lease, its attempt and holder: what finishing the job takes besides its id. Printable, with
  /// no spaces; not a secret.
  std::string token;
};

/// What finishing a leased job did.
enum class LeaseResult {
  completed,
  retrying,   ///< the attempt failed and attempts remain: scheduled to run again after a backoff
  failed,     ///< the attempt failed and it was the last one
  cancelled,  ///< the attempt failed while a cancel was requested
  released,   ///< back to available; the attempt does not count
  lost,       ///< the lease had passed on (it lapsed and the job was rescued, or another holds it): nothing changed
};

/// Finishes a leased job as done. Guarded by the lease: a token whose lease has passed on changes nothing.
auto complete_lease(const PQ& pq, std::int64_t id, std::string_view token) -> LeaseResult;
/// Records `error` in the job's history and retries it with a worker's backoff (attempt⁴ seconds ±10%,
/// capped at a day) while attempts remain, else fails it. `error` must be UTF-8 without NUL bytes.
auto fail_lease(const PQ& pq, std::int64_t id, std::string_view token, std::string_view error) -> LeaseResult;
/// Gives a leased job back to its queue at once, its attempt not counted.
auto release_lease(const PQ& pq, std::int64_t id, std::string_view token) -> LeaseResult;

/// Iterates a queue: each step is a get with the range's wait; the range ends when a get finds nothing.
/// With pq::forever (the default for `for (Job& job : queue)`) it never ends.
class JobIterator {
 public:
  using value_type = Job;
  using difference_type = std::ptrdiff_t;

  JobIterator() = default;
  JobIterator(Queue* queue, Wait wait);
  auto operator*() -> Job& { return *job_; }
  auto operator->() -> Job* { return &*job_; }
  auto operator++() -> JobIterator&;
  void operator++(int) { ++*this; }
  friend auto operator==(const JobIterator& it, std::default_sentinel_t) noexcept -> bool {
    return !it.job_;
  }

 private:
  Queue* queue_ = nullptr;
  Wait wait_ = forever;
  std::optional<Job> job_;
};

class JobRange {
 public:
  JobRange(Queue& queue, Wait wait) noexcept : queue_(&queue), wait_(wait) {}
  auto begin() -> JobIterator { return {queue_, wait_}; }
  auto end() noexcept -> std::default_sentinel_t { return {}; }

 private:
  Queue* queue_;
  Wait wait_;
};

/// A named queue of one pq::PQ. Cheap to copy; thread-safe.
class Queue {
 public:
  Queue(std::shared_ptr<detail::Shared> shared, std::string_view name);

  [[nodiscard]] auto name() const noexcept -> const std::string& { return name_; }

  /// Enqueues one job; `json` is validated first (pq::JsonError names the offset). Returns its id.
  auto put(std::string_view json, const PutOptions& options = {}) -> std::int64_t;
  /// Enqueues inside the caller's transaction: the job exists only if that transaction commits.
  auto put(Transaction& tx, std::string_view json, const PutOptions& options = {}) -> std::int64_t;
  /// Enqueues many jobs in one round trip; all or none. Returns their ids in input order.
  auto put_many(std::span<const std::string> jsons, const PutOptions& options = {})
      -> std::vector<std::int64_t>;
  auto put_many(Transaction& tx, std::span<const std::string> jsons, const PutOptions& options = {})
      -> std::vector<std::int64_t>;

  /// On a libpq connection the application owns (a PGconn*), inside whatever transaction is open there: the
  /// jobs exist only if it commits. Unnamed statements only, so nothing of pq's stays on the connection; the
  /// queue's listeners are woken by a NOTIFY in that transaction, delivered at its commit (docs/sql.md,
  /// "Wake-ups"). Validated as put() is; pq::Error otherwise carries the server's SQLSTATE (25P02 in a
  /// transaction that an earlier error aborted).
  auto put(pg_conn* conn, std::string_view json, const PutOptions& options = {}) -> std::int64_t;
  auto put_many(pg_conn* conn, std::span<const std::string> jsons, const PutOptions& options = {})
      -> std::vector<std::int64_t>;
  /// Takes the next available job on the application's connection, completed in its open transaction (as
  /// get(tx)); never waits. If that transaction rolls back, nothing announces the job again: a worker finds
  /// it at its next claim from the head.
  auto get(pg_conn* conn) -> std::optional<Job>;

  /// Takes the next job and completes it at once (pq's get). Waits up to `wait` for one, woken by NOTIFY,
  /// promoting this queue's due scheduled jobs and never sleeping past the next one.
  auto get(Wait wait = default_wait) -> std::optional<Job>;
  /// Takes the next job inside the caller's transaction: locked with FOR UPDATE SKIP LOCKED, completed when
  /// the transaction commits, untouched when it rolls back.
  auto get(Transaction& tx, Wait wait = default_wait) -> std::optional<Job>;

  /// Leases the next job for `lease` instead of completing it: the job runs as a worker's would, and
  /// complete_lease or fail_lease with the returned token finishes it. Waits as get does.
  auto lease(std::chrono::microseconds lease, Wait wait = default_wait) -> std::optional<LeasedJob>;

  /// Jobs a get could take now, as the pq seed's len() counts them: available, and scheduled ones already due
  /// (a blocking get promotes them). count() says how many are in each state.
  auto size() -> std::int64_t;
  /// This queue's jobs in `state` now: scheduled ones whatever their schedule, running, finished.
  auto count(JobState state) -> std::int64_t;
  /// Deletes every job of the queue; returns how many.
  auto clear() -> std::int64_t;
  /// Replaces a job's data while it is still waiting; false when it is not (taken, finished, other queue).
  auto update(std::int64_t id, std::string_view json) -> bool;

  /// Pauses the starts of this queue's jobs, or of one kind of them (pq/pause.hpp), fleet-wide and durably:
  /// it holds before the queue has jobs or workers, and across their restarts. Pausing what is paused
  /// replaces its end and reason.
  auto pause(const PauseOptions& options = {}) -> PauseResult;
  /// Ends the pause of the whole queue (kind empty) or of one kind, and wakes the queue's workers at once.
  /// False when that was not paused.
  auto resume(std::string_view kind = {}) -> bool;

  /// Registers a typed handler for jobs of this queue with kind `name` and returns a pq::Task to call or
  /// push it (defined in pq/task.hpp). Throws pq::UsageError when the name is taken in this queue.
  template <class F>
  auto task(std::string_view name, F fn, TaskOptions options) -> Task<F, typename detail::task_args<F>::type>;
  template <class F>
  auto task(std::string_view name, F fn) -> Task<F, typename detail::task_args<F>::type>;

  /// `for (pq::Job& job : queue)`: blocks forever between jobs.
  auto begin() -> JobIterator { return {this, forever}; }
  auto end() noexcept -> std::default_sentinel_t { return {}; }
  /// A range that ends when a get waiting `wait` finds nothing.
  auto jobs(Wait wait) -> JobRange { return {*this, wait}; }

  [[nodiscard]] auto shared() const noexcept -> const std::shared_ptr<detail::Shared>& { return shared_; }

 private:
  std::shared_ptr<detail::Shared> shared_;
  std::string name_;
};

}  // namespace pq
