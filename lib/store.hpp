// The driver layer: one C++ function per embedded SQL statement. Everything above goes through here.
#pragma once

#include <chrono>
#include <cstdint>
#include <optional>
#include <span>
#include <string>
#include <string_view>
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
auto put(pg::Session& session, std::string_view queue, std::string_view data, const PutOptions& options)
    -> std::int64_t;
auto put_many(pg::Session& session, std::string_view queue, std::span<const std::string> data,
              const PutOptions& options) -> std::vector<std::int64_t>;
auto take(pg::Session& session, std::string_view queue) -> std::optional<Job>;
auto claim(pg::Session& session, std::string_view queue, int limit, std::chrono::microseconds lease,
           std::string_view worker) -> std::vector<Job>;

struct Promotion {
  std::int64_t promoted = 0;
  std::optional<std::chrono::microseconds> next_due_in;  ///< until the queue's next scheduled job
};
auto promote_queue(pg::Session& session, std::string_view queue) -> Promotion;

auto size(pg::Session& session, std::string_view queue) -> std::int64_t;
auto clear(pg::Session& session, std::string_view queue) -> std::int64_t;
auto update(pg::Session& session, std::string_view queue, std::int64_t id, std::string_view data) -> bool;
auto job(pg::Session& session, std::int64_t id) -> std::optional<Job>;

}  // namespace pq::store
