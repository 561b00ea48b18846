// The driver layer of pq::Admin: one C++ function per statement in sql/admin/.
#pragma once

#include <chrono>
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "pg/session.hpp"
#include "pq/admin.hpp"
#include "pq/job.hpp"

namespace pq::store::admin {

auto stats(pg::Session& session, std::chrono::microseconds finished_within) -> std::vector<QueueStats>;
auto list(pg::Session& session, const JobFilter& filter) -> std::vector<Job>;
auto peek(pg::Session& session, std::string_view queue) -> std::optional<Job>;

/// Which failed or cancelled jobs requeue moves: one job by id, or those of a queue (in one state, or both).
struct RequeueTarget {
  std::optional<std::int64_t> id{};
  std::optional<std::string_view> queue{};
  std::optional<JobState> state{};
};
auto requeue(pg::Session& session, const RequeueTarget& target) -> std::int64_t;

auto cancel(pg::Session& session, std::int64_t id) -> CancelResult;
auto purge(pg::Session& session, const PurgeFilter& filter) -> PurgeResult;
auto count_purge(pg::Session& session, const PurgeFilter& filter) -> std::int64_t;

/// What holds the xmin horizon back the most, described for a log line; nothing when no other holds it.
auto horizon_holder(pg::Session& session) -> std::optional<std::string>;

}  // namespace pq::store::admin
