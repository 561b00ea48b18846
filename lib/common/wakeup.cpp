#include "common/wakeup.hpp"

#include <poll.h>
#include <signal.h>
#include <sys/eventfd.h>
#include <unistd.h>

#include <array>
#include <cerrno>
#include <cstdint>
#include <mutex>
#include <thread>

#include <fmt/core.h>

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

// Fixed storage, so that a signal handler never reads memory that a scope has freed.
struct Slot {
  std::atomic<std::atomic<bool>*> stopping{nullptr};
  std::atomic<const Wakeup*> wake{nullptr};
  std::atomic<std::atomic<int>*> stops{nullptr};
  std::atomic<std::atomic<bool>*> quiet{nullptr};
};
constexpr std::size_t kSlots = 64;
std::array<Slot, kSlots> slots;

// Handlers running now: a scope that ends waits for them, so that none touches a service that is gone.
std::atomic<int> in_handler{0};

std::mutex scopes_mutex;
int scopes = 0;
int quiet_scopes = 0;
struct sigaction previous_term {};
struct sigaction previous_int {};
struct sigaction previous_tstp {};

extern "C" void on_signal(int signal) {
  const int saved_errno = errno;
  in_handler.fetch_add(1);
  for (auto& slot : slots) {
    auto* stopping = slot.stopping.load();
    if (stopping == nullptr) continue;
    if (signal == SIGTSTP) {
      if (auto* quiet = slot.quiet.load()) quiet->store(true);
    } else {
      stopping->store(true);
      if (auto* stops = slot.stops.load()) stops->fetch_add(1);
    }
    if (const auto* wake = slot.wake.load()) wake->notify();
  }
  in_handler.fetch_sub(1);
  errno = saved_errno;
}

void install(int signal, struct sigaction& previous) {
  struct sigaction action {};
  action.sa_handler = on_signal;
  action.sa_flags = SA_RESTART;  // the application's blocking calls go on through a Ctrl-Z or a stop
  sigemptyset(&action.sa_mask);
  ::sigaction(signal, &action, &previous);
}

}  // namespace

SignalScope::SignalScope(std::atomic<bool>& stopping, const Wakeup& wake, std::atomic<int>* stops,
                         std::atomic<bool>* quiet) {
  std::lock_guard lock(scopes_mutex);
  slot_ = 0;
  while (slot_ < kSlots && slots.at(slot_).stopping.load() != nullptr) ++slot_;
  if (slot_ == kSlots) throw UsageError(fmt::format("more than {} pq services handle signals in this process", kSlots));
  auto& slot = slots.at(slot_);
  slot.wake = &wake;
  slot.stops = stops;
  slot.quiet = quiet;
  slot.stopping = &stopping;
  if (scopes++ == 0) {
    install(SIGTERM, previous_term);
    install(SIGINT, previous_int);
  }
  if (quiet != nullptr && quiet_scopes++ == 0) install(SIGTSTP, previous_tstp);
}

SignalScope::~SignalScope() {
  std::lock_guard lock(scopes_mutex);
  auto& slot = slots.at(slot_);
  if (slot.quiet.load() != nullptr && --quiet_scopes == 0) ::sigaction(SIGTSTP, &previous_tstp, nullptr);
  if (--scopes == 0) {
    ::sigaction(SIGTERM, &previous_term, nullptr);
    ::sigaction(SIGINT, &previous_int, nullptr);
  }
  slot.stopping = nullptr;
  slot.quiet = nullptr;
  slot.stops = nullptr;
  slot.wake = nullptr;
  while (in_handler.load() != 0) std::this_thread::yield();
}

}  // namespace pq
