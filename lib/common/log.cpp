#include "common/log.hpp"

#include <unistd.h>

#include <array>
#include <chrono>
#include <cstdio>
#include <mutex>
#include <random>

#include "common/validate.hpp"

namespace pq {

auto instance_id() -> std::string {
  std::array<char, 256> host{};
  if (::gethostname(host.data(), host.size() - 1) != 0) host[0] = 0;
  std::random_device random;
  return fmt::format("{}:{}:{:08x}", host.data(), ::getpid(), random());
}

auto stderr_log(LogLevel min) -> LogSink {
  return [min](LogLevel level, std::string_view message) {
    if (level < min) return;
    static constexpr std::array<const char*, 4> kNames{"debug", "info", "warning", "error"};
    static std::mutex mutex;
    auto now = std::chrono::system_clock::now();
    auto seconds = std::chrono::system_clock::to_time_t(now);
    auto millis = std::chrono::duration_cast<std::chrono::milliseconds>(now.time_since_epoch()).count() % 1000;
    std::tm utc{};
    ::gmtime_r(&seconds, &utc);
    std::array<char, 32> stamp{};
    std::strftime(stamp.data(), stamp.size(), "%Y-%m-%dT%H:%M:%S", &utc);
    // One entry, one line, whatever a field brought in (a kind, a command's stderr, a server's message).
    const auto text = log_safe(message);
    std::lock_guard lock(mutex);
    std::fprintf(stderr, "%s.%03dZ %s %.*s\n", stamp.data(), static_cast<int>(millis),
                 kNames.at(static_cast<std::size_t>(level)), static_cast<int>(text.size()), text.data());
    std::fflush(stderr);
  };
}

}  // namespace pq
