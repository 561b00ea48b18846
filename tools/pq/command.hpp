// What pq's commands share: the exit codes, the outcome that is no error, the options they read and the
// Context they run with. Each command group's file defines its run_* functions; main.cpp lists them.
#pragma once

#include <cxxopts.hpp>
#include <fmt/core.h>

#include <charconv>
#include <chrono>
#include <cstdint>
#include <optional>
#include <stdexcept>
#include <string>
#include <string_view>
#include <utility>

#include "output.hpp"
#include "pq/pq.hpp"

namespace pq_cli {

// Exit codes, as `pq --help` documents them.
constexpr int kOk = 0;
constexpr int kNothing = 1;
constexpr int kUsage = 2;
constexpr int kFailure = 3;

/// An outcome with nothing to show for it: an empty queue, a missing job, a job in the wrong state.
class Nothing : public std::runtime_error {
 public:
  using std::runtime_error::runtime_error;
};

// ---- options -------------------------------------------------------------------------------------------

auto text_option(const cxxopts::ParseResult& args, const std::string& name) -> std::optional<std::string>;

template <class Integer>
auto parse_integer(std::string_view what, std::string_view text) -> Integer {
  Integer value{};
  auto [end, error] = std::from_chars(text.data(), text.data() + text.size(), value);
  if (error != std::errc{} || end != text.data() + text.size()) {
    throw pq::UsageError(fmt::format("bad {} '{}': expected an integer", what, cell(text, 40)));
  }
  return value;
}

auto parse_id(std::string_view text) -> std::int64_t;

/// A duration as pq::parse_duration reads it (`--wait 1.5`, `--wait 2m`), its error naming the option.
auto parse_seconds(std::string_view what, std::string_view text) -> std::chrono::microseconds;

auto state_option(const cxxopts::ParseResult& args) -> std::optional<pq::JobState>;

/// What a command runs with: its parsed options and a connection opened on first use.
class Context {
 public:
  Context(std::string command, cxxopts::ParseResult args) : command_(std::move(command)), args_(std::move(args)) {}

  [[nodiscard]] auto args() const -> const cxxopts::ParseResult& { return args_; }
  [[nodiscard]] auto command() const -> const std::string& { return command_; }
  [[nodiscard]] auto json() const -> bool { return args_.count("json") > 0; }
  [[nodiscard]] auto has(const std::string& name) const -> bool { return args_.count(name) > 0; }
  [[nodiscard]] auto text(const std::string& name) const -> std::optional<std::string> {
    return text_option(args_, name);
  }
  /// A positional argument the command cannot do without.
  [[nodiscard]] auto required(const std::string& name, std::string_view shown) const -> std::string;

  auto pq() -> pq::PQ&;

  /// "job 42 is running", for messages about a job a command could not act on.
  auto state_of(std::int64_t id) -> std::string;

 private:
  std::string command_;
  cxxopts::ParseResult args_;
  std::optional<pq::PQ> pq_;
};

// ---- the commands, by group ----------------------------------------------------------------------------

auto run_put(Context& ctx) -> int;  // produce.cpp

auto run_get(Context& ctx) -> int;  // consume.cpp
auto run_done(Context& ctx) -> int;
auto run_fail(Context& ctx) -> int;

auto run_stats(Context& ctx) -> int;  // inspect.cpp
auto run_top(Context& ctx) -> int;
auto run_jobs(Context& ctx) -> int;
auto run_show(Context& ctx) -> int;

auto run_retry(Context& ctx) -> int;  // repair.cpp
auto run_cancel(Context& ctx) -> int;
auto run_purge(Context& ctx) -> int;

auto run_pause(Context& ctx) -> int;  // flow.cpp
auto run_resume(Context& ctx) -> int;
auto run_queues(Context& ctx) -> int;

auto run_migrate(Context& ctx) -> int;  // migrate.cpp
auto run_version(Context& ctx) -> int;

}  // namespace pq_cli
