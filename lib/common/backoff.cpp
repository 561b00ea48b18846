#include "common/backoff.hpp"

#include <algorithm>

#include "task/retry_policy.hpp"

namespace pq::detail {

auto jittered(std::chrono::milliseconds interval) -> std::chrono::milliseconds {
  return std::chrono::milliseconds{
      static_cast<std::int64_t>(static_cast<double>(interval.count()) * (1.0 + 0.1 * draw_jitter()))};
}

auto ReconnectBackoff::next() noexcept -> std::chrono::milliseconds {
  auto pause = jittered(step_);
  step_ = std::min(step_ * 2, kLongest);
  return pause;
}

}  // namespace pq::detail
