// Durations and times as people type them: `1.5`, `500ms`, `90s`, `5m`, `2h`, `1d`, or `2026-12-01T10:00:00Z`.
#pragma once

#include <chrono>
#include <string>
#include <string_view>

#include "pq/job.hpp"

namespace pq {

/// The longest duration accepted: 100 years of days. Longer ones would overflow the times they are added to.
inline constexpr std::chrono::microseconds kMaxDuration = std::chrono::hours(24 * 36'500);

/// A duration as all of pq's tools take it: a number, with a fraction or without, followed by a unit (`500ms`,
/// `90s`, `1.5s`, `5m`, `2h`, `1d`), or with no unit, meaning seconds (`1.5`). At most kMaxDuration; below a
/// microsecond it is rounded down. Throws pq::UsageError naming the text and what was expected.
[[nodiscard]] auto parse_duration(std::string_view text) -> std::chrono::microseconds;

/// A delay from now, as parse_duration reads it, or an ISO-8601 time
/// `YYYY-MM-DDTHH:MM:SS[.fraction](Z|±HH:MM)` (fractions beyond microseconds are dropped). Throws
/// pq::UsageError naming the text and what is wrong with it.
[[nodiscard]] auto parse_when(std::string_view text) -> When;

/// The time in UTC as `YYYY-MM-DDTHH:MM:SS.ffffffZ`: fixed width, so the text sorts like the time, and
/// parse_when reads it back.
[[nodiscard]] auto format_time(TimePoint time) -> std::string;

}  // namespace pq
