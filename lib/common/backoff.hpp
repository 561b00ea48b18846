// Pauses that must not fall in step across clients: jitter for polls, and the backoff before reconnecting.
#pragma once

#include <chrono>

namespace pq::detail {

/// `interval` with ±10% jitter, so that many pollers do not wake in step.
auto jittered(std::chrono::milliseconds interval) -> std::chrono::milliseconds;

/// How long to wait before the next reconnect: 100 ms, doubling to 5 s, back to 100 ms once connected.
class ReconnectBackoff {
 public:
  static constexpr std::chrono::milliseconds kFirst{100};
  static constexpr std::chrono::milliseconds kLongest{5000};

  /// The pause to take now (the current step, jittered); the step after it is twice as long.
  auto next() noexcept -> std::chrono::milliseconds;
  /// The current step, for a log line said before the pause.
  [[nodiscard]] auto current() const noexcept -> std::chrono::milliseconds { return step_; }
  void reset() noexcept { step_ = kFirst; }

 private:
  std::chrono::milliseconds step_ = kFirst;
};

}  // namespace pq::detail
