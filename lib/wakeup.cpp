#include "wakeup.hpp"

#include <poll.h>
#include <signal.h>
#include <sys/eventfd.h>
#include <unistd.h>

#include <cerrno>
#include <cstdint>

#include "pq/error.hpp"

namespace pq {

Wakeup::Wakeup() : fd_(::eventfd(0, EFD_NONBLOCK | EFD_CLOEXEC)) {
  if (fd_ < 0) throw Error("eventfd() failed");
}

Wakeup::~Wakeup() { ::close(fd_); }

void Wakeup::notify() const noexcept {
  std::uint64_t one = 1;
  [[maybe_unused]] auto written = ::write(fd_, &one, sizeof(one));
}

void Wakeup::drain() const noexcept {
  std::uint64_t count = 0;
  [[maybe_unused]] auto read = ::read(fd_, &count, sizeof(count));
}

auto Wakeup::wait_for(std::chrono::milliseconds timeout) const noexcept -> bool {
  pollfd fd{fd_, POLLIN, 0};
  int rc = 0;
  do {
    rc = ::poll(&fd, 1, static_cast<int>(std::max<std::int64_t>(0, timeout.count())));
  } while (rc < 0 && errno == EINTR);
  return rc > 0;
}

namespace {

std::atomic<std::atomic<bool>*> signal_flag{nullptr};
std::atomic<const Wakeup*> signal_wake{nullptr};
struct sigaction previous_term {};
struct sigaction previous_int {};

extern "C" void on_stop_signal(int /*signal*/) {
  if (auto* flag = signal_flag.load()) flag->store(true);
  if (const auto* wake = signal_wake.load()) wake->notify();
}

}  // namespace

SignalScope::SignalScope(std::atomic<bool>& flag, const Wakeup& wake) {
  std::atomic<bool>* none = nullptr;
  if (!signal_flag.compare_exchange_strong(none, &flag)) {
    throw UsageError("another pq::Worker or pq::Scheduler already handles SIGTERM/SIGINT in this process");
  }
  signal_wake = &wake;
  struct sigaction action {};
  action.sa_handler = on_stop_signal;
  sigemptyset(&action.sa_mask);
  ::sigaction(SIGTERM, &action, &previous_term);
  ::sigaction(SIGINT, &action, &previous_int);
}

SignalScope::~SignalScope() {
  ::sigaction(SIGTERM, &previous_term, nullptr);
  ::sigaction(SIGINT, &previous_int, nullptr);
  signal_wake = nullptr;
  signal_flag = nullptr;
}

}  // namespace pq
