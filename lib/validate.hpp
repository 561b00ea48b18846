// Checks on caller input, made before any SQL runs, with messages that say what to change.
#pragma once

#include <cstddef>
#include <string_view>

#include "pq/job.hpp"

namespace pq {

inline constexpr std::size_t kMaxQueueName = 128;
inline constexpr std::size_t kMaxSchemaName = 58;  // the channel "<schema>.jobs" must fit in 63 bytes
inline constexpr std::size_t kMaxKind = 128;

void validate_queue_name(std::string_view name);
void validate_schema_name(std::string_view name);
void validate_put_options(const PutOptions& options);
/// Size limit, NUL bytes and JSON syntax of one job's data.
void validate_payload(std::string_view json, std::size_t max_payload);

}  // namespace pq
