// An eventfd that one thread (or a signal handler) pokes to wake another out of poll().
#pragma once

#include <atomic>
#include <chrono>
#include <cstddef>

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

/// While alive, SIGTERM and SIGINT set `stopping`, count themselves in `stops` (a second one asks to hurry)
/// and notify `wake`; with `quiet`, SIGTSTP sets it (stop claiming, finish what runs) instead of suspending the
/// process. Any number of scopes may live at once, one per service of the process, and every signal reaches
/// them all; the previous handlers come back when the last one ends.
class SignalScope {
 public:
  SignalScope(std::atomic<bool>& stopping, const Wakeup& wake, std::atomic<int>* stops = nullptr,
              std::atomic<bool>* quiet = nullptr);
  ~SignalScope();
  SignalScope(const SignalScope&) = delete;
  auto operator=(const SignalScope&) -> SignalScope& = delete;

 private:
  std::size_t slot_;
};

}  // namespace pq
