// Checks on caller input, made before any SQL runs, with messages that say what to change.
#pragma once

#include <cstddef>
#include <string>
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

/// Arbitrary bytes (a handler's error message, a command's stderr) as text PostgreSQL accepts: valid UTF-8
/// is kept as is; each byte of an invalid sequence and each NUL becomes the visible escape "\xNN".
auto storable_text(std::string_view bytes) -> std::string;

/// Text for one line of a log: control characters (C0, DEL, C1) and the Unicode line and paragraph
/// separators are escaped ("\n", "\r", "\t", "\x1b", "\u0085", "\u2028"), as is each byte of an invalid
/// UTF-8 sequence ("\xff"), so that no field can end the entry, forge another one or send terminal escapes.
auto log_safe(std::string_view text) -> std::string;

}  // namespace pq
