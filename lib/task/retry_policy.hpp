// When a failed job runs again: a pure function of the attempt, the task's options and a jitter draw.
#pragma once

#include <chrono>

#include "pq/task.hpp"

namespace pq {

inline constexpr std::chrono::microseconds kMaxBackoff = std::chrono::hours(24);

/// The delay after failed attempt `attempt` (1-based): `retry_in` when set, else attempt^4 seconds, scaled by
/// (1 + 0.1 * jitter) and capped at kMaxBackoff. `jitter` lies in [-1, 1].
auto retry_delay(int attempt, const TaskOptions& options, double jitter) noexcept -> std::chrono::microseconds;

/// A jitter draw for retry_delay, uniform in [-1, 1].
auto draw_jitter() -> double;

}  // namespace pq
