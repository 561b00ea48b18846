// Child processes for tests that run pq's executables: started with fork/exec, output to a file, killed and
// reaped with deadlines.
#pragma once

#include <chrono>
#include <optional>
#include <string>
#include <vector>

#include <sys/types.h>

namespace test {

class Child {
 public:
  /// Starts `argv` with `env` added to the environment; stdout and stderr go to `output`. With
  /// `as_server_owner`, a process started as root runs as the `postgres` user, like the test server (for
  /// programs that refuse root, such as PgBouncer).
  Child(std::vector<std::string> argv, std::vector<std::string> env, std::string output,
        bool as_server_owner = false);
  ~Child();
  Child(const Child&) = delete;
  auto operator=(const Child&) -> Child& = delete;

  [[nodiscard]] auto pid() const noexcept -> pid_t { return pid_; }
  void signal(int number) const;
  /// Waits for the exit; nullopt when it has not exited within `timeout`. The result is the exit code, or
  /// 128 + the signal that killed it.
  auto wait(std::chrono::milliseconds timeout) -> std::optional<int>;
  /// Everything the child wrote so far.
  [[nodiscard]] auto output() const -> std::string;

 private:
  pid_t pid_ = -1;
  std::string output_;
  std::optional<int> status_;
};

/// How many processes on the machine run exactly this command line (arguments joined by spaces), read from
/// /proc so that no tool needs to be installed.
auto count_processes(const std::string& command_line) -> int;

/// The path of a program or file that meson passed in the environment variable `name`.
auto built(const char* name) -> std::string;

/// The command line of pq-worker or pq-scheduler (`program` names the environment variable with its path)
/// against `db` and `schema`, followed by `extra`.
auto pq_command(const char* program, const std::string& db, const std::string& schema,
                std::vector<std::string> extra) -> std::vector<std::string>;

/// A fresh path `name` in a directory of its own under the system's temporary directory.
auto scratch(const std::string& name) -> std::string;

/// The whole content of a file ("" when it does not exist).
auto read_file(const std::string& path) -> std::string;

}  // namespace test
