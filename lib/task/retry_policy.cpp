#include "task/retry_policy.hpp"

#include <algorithm>
#include <cmath>
#include <random>

namespace pq {

auto retry_delay(int attempt, const TaskOptions& options, double jitter) noexcept -> std::chrono::microseconds {
  if (options.retry_in) return std::chrono::duration_cast<std::chrono::microseconds>(*options.retry_in);
  // In double, attempt^4 cannot overflow before the cap applies, whatever the attempt.
  double seconds = std::pow(static_cast<double>(std::max(attempt, 1)), 4.0);
  seconds *= 1.0 + 0.1 * std::clamp(jitter, -1.0, 1.0);
  double micros = std::min(seconds * 1e6, static_cast<double>(kMaxBackoff.count()));
  return std::chrono::microseconds{static_cast<std::int64_t>(micros)};
}

auto draw_jitter() -> double {
  thread_local std::minstd_rand random{std::random_device{}()};
  return std::uniform_real_distribution<double>(-1.0, 1.0)(random);
}

}  // namespace pq
