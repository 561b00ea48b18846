// The pq command as people and scripts use it: the built binary (PQ_CLI, set by meson) against the test
// server, its output, messages and exit codes, for the cli tests of each command group.
#pragma once

#include <poll.h>
#include <simdjson.h>
#include <sys/types.h>

#include <chrono>
#include <cstddef>
#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

#include "support.hpp"

namespace cli {

struct Outcome {
  int code = -1;
  std::string out;
  std::string err;
};

auto cli_path() -> std::string;

/// Where the child's stdout goes: a pipe the test reads, or one of the ways a write fails.
enum class Stdout {
  pipe,
  full,    ///< /dev/full: every write fails with ENOSPC
  closed,  ///< no descriptor 1 at all
  broken,  ///< a pipe whose reader is gone: EPIPE, or death by SIGPIPE
};

/// Where the child's stdin comes from: a pipe the test writes, or one that cannot be read.
enum class Stdin {
  pipe,
  closed,     ///< no descriptor 0 at all
  directory,  ///< a directory: every read fails with EISDIR
};

/// The pq binary as a child process, its three streams on pipes.
class Child {
 public:
  /// `env` entries "NAME=value" are added to this process's environment, replacing any of the same name.
  explicit Child(const std::vector<std::string>& args, const std::vector<std::string>& env = {},
                 Stdout stdout_to = Stdout::pipe, Stdin stdin_from = Stdin::pipe);
  Child(const Child&) = delete;
  auto operator=(const Child&) -> Child& = delete;
  ~Child();

  /// Reads stdout until it holds `text`; false when the child ends or `timeout` passes first.
  auto read_until(std::string_view text, std::chrono::seconds timeout = std::chrono::seconds(60)) -> bool;

  void signal(int number);
  [[nodiscard]] auto pid() const noexcept -> pid_t { return pid_; }

  /// Writes `input` and closes stdin, reads both outputs to their end, and waits for the exit.
  auto finish(std::string_view input = {}, std::chrono::seconds timeout = std::chrono::seconds(300)) -> Outcome;

 private:
  void close_input();

  // One round of poll: writes what stdin takes, reads what the outputs hold. False once both outputs ended
  // or the deadline passed.
  auto pump(std::chrono::steady_clock::time_point deadline) -> bool;

  static void read_from(const pollfd& fd, int& owner, std::string& text);

  pid_t pid_ = -1;
  int in_ = -1, out_ = -1, err_ = -1;
  std::string input_;
  std::size_t written_ = 0;
  std::string out_text_, err_text_;
};

auto connection(const pq::PQ& pq) -> std::vector<std::string>;

/// Runs `pq ARGS --db URL --schema SCHEMA` on the test server.
auto run(const pq::PQ& pq, std::vector<std::string> args, std::string_view input = {}) -> Outcome;

/// Runs `pq ARGS --db URL --schema SCHEMA` with stdout going to `stdout_to`.
auto run_to(Stdout stdout_to, const pq::PQ& pq, std::vector<std::string> args, std::string_view input = {})
    -> Outcome;

/// An error is one line, after "pq: ", and nothing else reaches stdout.
void check_error(const Outcome& outcome, int code, std::string_view message);

auto lines(const std::string& text) -> std::vector<std::string>;

auto id_of(const Outcome& outcome) -> std::int64_t;

auto json(const std::string& text) -> simdjson::dom::element;

}  // namespace cli
