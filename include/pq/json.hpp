// JSON as pq stores it: validation of job data.
#pragma once

#include <string_view>

namespace pq {

/// Throws pq::JsonError naming the offset, line and column where `text` stops being one JSON document that
/// PostgreSQL's jsonb can store (no NUL bytes, no \u0000 escapes, valid UTF-8).
void validate_json(std::string_view text);

}  // namespace pq
