// The child processes pq-bench starts (pgbench, a real pq-worker) and what it reads of them.
#pragma once

#include <sys/types.h>

#include <chrono>
#include <filesystem>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace pq::bench {

/// A program started with its output in a file; killed and reaped when destroyed before it exited, and killed
/// by the kernel if the bench dies first.
class Process {
 public:
  Process(const std::vector<std::string>& argv, const std::string& log);
  ~Process();
  Process(const Process&) = delete;
  auto operator=(const Process&) -> Process& = delete;

  [[nodiscard]] auto pid() const noexcept -> pid_t { return pid_; }
  void signal(int number) const;
  /// Blocks until the program exits; returns its exit code (128 + signal when killed). Blocking, not polling:
  /// pgbench measures the floor meanwhile, and a poll every few milliseconds would share the CPUs with it.
  auto wait() -> int;
  /// The exit code (128 + signal when killed), or nullopt while it still runs after `timeout`.
  auto wait(std::chrono::milliseconds timeout) -> std::optional<int>;

 private:
  pid_t pid_ = -1;
  std::optional<int> status_;
};

auto read_file(const std::filesystem::path& path) -> std::string;

// Resident set of a live process from /proc/PID/status, in MiB: "VmRSS" now, or "VmHWM" its peak so far.
auto memory_mib(pid_t pid, std::string_view field) -> double;

}  // namespace pq::bench
