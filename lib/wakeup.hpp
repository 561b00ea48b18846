// An eventfd that one thread (or a signal handler) pokes to wake another out of poll().
#pragma once

#include <atomic>
#include <chrono>

namespace pq {

class Wakeup {
 public:
  Wakeup();
  ~Wakeup();
  Wakeup(const Wakeup&) = delete;
  auto operator=(const Wakeup&) -> Wakeup& = delete;

  /// Async-signal-safe.
  void notify() const noexcept;
  /// Clears pending notifications.
  void drain() const noexcept;
  /// Sleeps up to `timeout`; returns early (true) when notified.
  auto wait_for(std::chrono::milliseconds timeout) const noexcept -> bool;
  [[nodiscard]] auto fd() const noexcept -> int { return fd_; }

 private:
  int fd_;
};

/// While alive, SIGTERM and SIGINT set `flag` and notify `wake` (one scope at a time per process);
/// the previous handlers come back when it ends.
class SignalScope {
 public:
  SignalScope(std::atomic<bool>& flag, const Wakeup& wake);
  ~SignalScope();
  SignalScope(const SignalScope&) = delete;
  auto operator=(const SignalScope&) -> SignalScope& = delete;
};

}  // namespace pq
