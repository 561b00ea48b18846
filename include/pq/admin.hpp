// pq::Admin: what an operator does to the jobs of a schema: count, list, peek, retry, cancel and purge.
#pragma once

#include <chrono>
#include <cstdint>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "pq/job.hpp"

namespace pq {

class PQ;
namespace detail {
struct Shared;
}

/// One queue's jobs at the moment of Admin::stats.
struct QueueStats {
  std::string queue{};
  std::int64_t scheduled = 0;
  std::int64_t available = 0;
  std::int64_t running = 0;
  std::int64_t completed = 0;
  std::int64_t failed = 0;
  std::int64_t cancelled = 0;
  /// How long the oldest available job has waited since it fell due; nullopt when none is available.
  std::optional<std::chrono::microseconds> oldest_available{};
  /// Jobs that reached completed, failed or cancelled within the window Admin::stats was asked for.
  std::int64_t finished = 0;
};

/// Which jobs Admin::jobs lists; unset fields match every job.
struct JobFilter {
  std::optional<std::string> queue{};
  std::optional<JobState> state{};
  std::optional<std::string> kind{};
  std::int64_t limit = 100;  ///< at least 1; the newest jobs come first
};

/// Which jobs Admin::purge deletes.
struct PurgeFilter {
  std::string queue{};              ///< required
  std::optional<JobState> state{};  ///< unset: every finished state (completed, failed and cancelled)
  /// Only jobs that finished longer ago than this (unfinished jobs: that were enqueued longer ago).
  std::optional<std::chrono::microseconds> older_than{};
  /// Allows a state that is not finished (scheduled, available, running): those jobs have not run yet, or
  /// run now. Without it such a state is a pq::UsageError.
  bool unfinished = false;
};

/// What Admin::purge did.
struct PurgeResult {
  std::int64_t deleted = 0;
  /// Jobs that matched but were skipped, not waited for, because another transaction held them.
  std::int64_t skipped = 0;
};

/// What Admin::retry did.
enum class RetryResult {
  requeued,       ///< failed or cancelled → available
  not_found,      ///< no job has that id
  not_retryable,  ///< the job is neither failed nor cancelled
};

/// What Admin::cancel did.
enum class CancelResult {
  cancelled,         ///< scheduled or available → cancelled
  cancel_requested,  ///< running: its worker sees the request at its next heartbeat
  not_found,         ///< no job has that id
  already_finished,  ///< completed, failed or cancelled before
  /// Another transaction holds the job's row: a transactional task, or a get inside a transaction. It cannot
  /// be cancelled; it ends with that transaction (a transactional task's by its timeout).
  in_transaction,
};

/// One entry of a job's error history.
struct JobError {
  std::int64_t attempt = 0;
  std::string at{};  ///< the time as its writer stored it
  std::string error{};
};

/// The entries of `job.errors`, oldest first. Fields an entry lacks stay empty; a non-string error is kept as
/// its JSON text. Throws pq::JsonError when `job.errors` is not a JSON array.
[[nodiscard]] auto error_history(const Job& job) -> std::vector<JobError>;

/// Operations on the jobs of one pq::PQ's schema, for tools and dashboards. Cheap to copy; thread-safe.
class Admin {
 public:
  explicit Admin(const PQ& pq);

  /// Per queue (every queue holding a job), in name order. `finished_within` is the window of
  /// QueueStats::finished.
  auto stats(std::chrono::microseconds finished_within = std::chrono::minutes(1)) -> std::vector<QueueStats>;
  /// Jobs matching the filter, newest first.
  auto jobs(const JobFilter& filter = {}) -> std::vector<Job>;
  /// The job a get on `queue` would take next, left untouched; nullopt when there is none.
  auto peek(std::string_view queue) -> std::optional<Job>;

  /// failed / cancelled → available, now. Raises max_attempts when the attempts are used up and keeps the
  /// error history.
  auto retry(std::int64_t id) -> RetryResult;
  /// Every job of `queue` in `state` (failed or cancelled, else pq::UsageError) → available. Returns how
  /// many.
  auto retry_all(std::string_view queue, JobState state) -> std::int64_t;
  /// scheduled / available → cancelled; a running job gets a cancel request instead. Never waits for a
  /// transaction that holds the job (CancelResult::in_transaction).
  auto cancel(std::int64_t id) -> CancelResult;
  /// Deletes the jobs the filter matches, except those another transaction holds.
  auto purge(const PurgeFilter& filter) -> PurgeResult;
  /// How many jobs purge would delete now; deletes nothing.
  auto count_purge(const PurgeFilter& filter) -> std::int64_t;

 private:
  std::shared_ptr<detail::Shared> shared_;
};

}  // namespace pq
