// The driver layer: one C++ function per embedded SQL statement. Everything above goes through here.
#pragma once

#include <chrono>
#include <cstdint>
#include <optional>
#include <span>
#include <string>
#include <string_view>
#include <tuple>
#include <vector>

#include "pg/session.hpp"
#include "pq/job.hpp"

namespace pq::store {

// schema/
void lock_schema(pg::Session& session);
auto schema_installed(pg::Session& session) -> bool;
auto schema_version(pg::Session& session) -> int;
void record_migration(pg::Session& session, int version, std::string_view name);

// queue/
/// What a put made: the ids, and whether the jobs are available now, so that queue/notify is owed once the
/// put's transaction has committed.
struct Put {
  std::vector<std::int64_t> ids;
  bool available = false;
};
auto put(pg::Session& session, std::string_view queue, std::string_view data, const PutOptions& options) -> Put;
auto put_many(pg::Session& session, std::string_view queue, std::span<const std::string> data,
              const PutOptions& options) -> Put;
/// Sends one NOTIFY per wake payload (pg::wake_payload); call outside any transaction that wrote (see
/// sql/queue/notify.sql).
void notify(pg::Session& session, std::span<const std::string> payloads);
/// `keep_completed` false: the job taken is deleted instead of kept as completed (ConnectionOptions).
auto take(pg::Session& session, std::string_view queue, bool keep_completed) -> std::optional<Job>;
/// A job's place in dequeue order: priority, then expected_at, then id.
struct ClaimKey {
  int priority = 0;
  /// As the claim index orders it: coalesce(expected_at, 'infinity'), so none is TimePoint::max(), as are
  /// 'infinity' and times past the clock's range (pg::Result::time saturates them).
  TimePoint expected_at = TimePoint::max();
  std::int64_t id = 0;
  static auto of(const Job& job) -> ClaimKey {
    return {job.priority, job.expected_at.value_or(TimePoint::max()), job.id};
  }
  friend auto operator<(const ClaimKey& left, const ClaimKey& right) -> bool {
    return std::tie(left.priority, left.expected_at, left.id) < std::tie(right.priority, right.expected_at, right.id);
  }
};
/// `kinds`: claim only jobs of these kinds; nullptr claims any kind. `skip`: jobs not to claim. `after`:
/// claim only jobs that come after this place in dequeue order; nullptr starts at the head. `until`: and
/// none past this place; nullptr: no end.
auto claim(pg::Session& session, std::string_view queue, int limit, std::chrono::microseconds lease,
           std::string_view worker, const std::vector<std::string>* kinds = nullptr,
           const std::vector<std::int64_t>* skip = nullptr, const ClaimKey* after = nullptr,
           const ClaimKey* until = nullptr) -> std::vector<Job>;

struct Promotion {
  std::int64_t promoted = 0;
  std::optional<std::chrono::microseconds> next_due_in;  ///< until the queue's next scheduled job
};
auto promote_queue(pg::Session& session, std::string_view queue) -> Promotion;

auto size(pg::Session& session, std::string_view queue) -> std::int64_t;
auto count(pg::Session& session, std::string_view queue, JobState state) -> std::int64_t;
auto clear(pg::Session& session, std::string_view queue) -> std::int64_t;
auto update(pg::Session& session, std::string_view queue, std::int64_t id, std::string_view data) -> bool;
auto job(pg::Session& session, std::int64_t id) -> std::optional<Job>;

}  // namespace pq::store

namespace pq::store {

// queue/ — the worker's statements. Each takes parallel arrays: job ids and the attempts the worker holds.
struct Held {
  std::vector<std::int64_t> ids;
  std::vector<int> attempts;
  void add(std::int64_t id, int attempt) {
    ids.push_back(id);
    attempts.push_back(attempt);
  }
  [[nodiscard]] auto empty() const noexcept -> bool { return ids.empty(); }
};

/// `keep_completed` false: the jobs are deleted instead of kept as completed (ConnectionOptions).
auto complete_many(pg::Session& session, const Held& jobs, std::string_view worker, bool keep_completed = true)
    -> std::vector<std::int64_t>;
/// What claim_completing did: the jobs claimed, and the ids of `done` that were completed (or deleted).
struct Claimed {
  std::vector<Job> jobs;
  std::vector<std::int64_t> completed;
};
/// claim() and complete_many() (or its deleting form) in one statement, so one transaction and one commit.
auto claim_completing(pg::Session& session, const Held& done, bool keep_completed, std::string_view queue,
                      int limit, std::chrono::microseconds lease, std::string_view worker,
                      const std::vector<std::string>* kinds, const std::vector<std::int64_t>* skip,
                      const ClaimKey* after = nullptr) -> Claimed;
struct Retried {
  std::vector<std::int64_t> rescheduled;
  std::vector<std::int64_t> cancelled;  ///< a cancel was requested: they end here instead
};
auto retry_many(pg::Session& session, const Held& jobs, std::span<const std::int64_t> delays_us,
                std::span<const std::string> errors, std::string_view worker) -> Retried;
auto fail_many(pg::Session& session, const Held& jobs, std::span<const std::string> errors,
               std::string_view worker) -> std::vector<std::int64_t>;
auto release_many(pg::Session& session, const Held& jobs, std::string_view worker) -> std::vector<std::int64_t>;

struct Heartbeat {
  std::int64_t id = 0;
  bool cancel_requested = false;
};
auto heartbeat(pg::Session& session, const Held& jobs, std::string_view worker, std::chrono::microseconds lease)
    -> std::vector<Heartbeat>;
auto lock_running(pg::Session& session, std::int64_t id, int attempt, std::string_view worker) -> bool;
void limit_transaction(pg::Session& session, std::chrono::milliseconds timeout);

// maintenance/
struct Promoted {
  std::string queue;
  std::int64_t count = 0;
};
auto promote_due(pg::Session& session, int batch) -> std::vector<Promoted>;

struct Rescued {
  std::int64_t id = 0;
  std::string queue;
  JobState state = JobState::scheduled;
  int attempt = 0;
};
/// `queues`: only these queues' jobs; nullptr: every queue.
auto rescue_expired(pg::Session& session, int batch, const std::vector<std::string>* queues = nullptr)
    -> std::vector<Rescued>;
auto prune_finished(pg::Session& session, std::chrono::microseconds retention,
                    std::chrono::microseconds failed_retention, int batch) -> std::int64_t;
auto leader_elect(pg::Session& session, std::string_view holder, std::chrono::microseconds ttl) -> bool;
void leader_resign(pg::Session& session, std::string_view holder);

}  // namespace pq::store
