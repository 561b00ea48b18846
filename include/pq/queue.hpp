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

namespace pq {

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

  /// Takes the next job and completes it at once (pq's get). Waits up to `wait` for one, woken by NOTIFY,
  /// promoting this queue's due scheduled jobs and never sleeping past the next one.
  auto get(Wait wait = default_wait) -> std::optional<Job>;
  /// Takes the next job inside the caller's transaction: locked with FOR UPDATE SKIP LOCKED, completed when
  /// the transaction commits, untouched when it rolls back.
  auto get(Transaction& tx, Wait wait = default_wait) -> std::optional<Job>;

  /// Jobs not taken yet: available and scheduled.
  auto size() -> std::int64_t;
  /// Deletes every job of the queue; returns how many.
  auto clear() -> std::int64_t;
  /// Replaces a job's data while it is still waiting; false when it is not (taken, finished, other queue).
  auto update(std::int64_t id, std::string_view json) -> bool;

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
