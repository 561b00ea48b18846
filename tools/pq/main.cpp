// pq: the shell face of the library. Each command parses its options, calls the public API and prints a
// table for people or, with --json, JSON for scripts. Exit codes and messages are part of its interface.
#include <cxxopts.hpp>
#include <fcntl.h>
#include <fmt/core.h>
#include <poll.h>
#include <sys/ioctl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <array>
#include <cerrno>
#include <charconv>
#include <csignal>
#include <cstdlib>
#include <cstring>
#include <fstream>
#include <functional>
#include <iostream>
#include <optional>
#include <span>
#include <string>
#include <string_view>
#include <vector>

#include "pq/pq.hpp"

namespace {

using namespace std::chrono_literals;
using std::chrono::microseconds;

// Exit codes, as `pq --help` documents them.
constexpr int kOk = 0;
constexpr int kNothing = 1;
constexpr int kUsage = 2;
constexpr int kFailure = 3;

// Jobs per put_many statement when reading NDJSON: large batches are fast, and memory stays bounded.
constexpr std::size_t kBatch = 10'000;

constexpr std::string_view kHelp = R"(pq: a PostgreSQL job queue, from the shell.

usage: pq COMMAND [OPTIONS] [ARGUMENTS]

commands:
  put QUEUE [JSON]   put a job (JSON from the argument, --file or stdin; --ndjson: one per line), print its id
  get QUEUE          take the next job, print its JSON and complete it (--keep: only look; --lease D: lease it)
  done ID            complete a job taken with get --lease (--token T)
  fail ID [ERROR]    fail a job taken with get --lease: retried with backoff while attempts remain (--token T)
  stats              jobs per queue: counts by state, oldest waiting job, finished in the last minute
  top                stats as a live table with rates, refreshed every second until Ctrl-C
  jobs               list jobs, newest first (--queue, --state, --kind, --limit)
  show ID            one job, with its error history
  retry ID           requeue a failed or cancelled job (or all of a queue: --queue Q --state failed)
  cancel ID          cancel a waiting job, or ask the worker of a running one to stop it
  purge --queue Q    delete a queue's finished jobs (--state, --older-than 7d, --dry-run)
  migrate            install or upgrade pq's tables and print the schema version
  version            print pq's version

every command takes:
  --db URL           libpq connection string or URI (default: DATABASE_URL, else libpq's PG* variables)
  --schema NAME      schema holding pq's tables (default: pq)
  --json             JSON output for scripts (all but top)

durations (--wait, --lease, --interval, --older-than): seconds (1.5), or a number and a unit: 500ms, 90s, 5m,
2h, 1d; times (--at, --expected): a duration from now, or an ISO-8601 time such as 2026-12-01T10:00:00Z

exit codes:
  0  done
  1  nothing to get, no such job, or a job in a state the command does not apply to
  2  usage error: a bad command, option, argument or input
  3  database error, or any other failure

`pq COMMAND --help` lists a command's options.
)";

/// An outcome with nothing to show for it: an empty queue, a missing job, a job in the wrong state.
class Nothing : public std::runtime_error {
 public:
  using std::runtime_error::runtime_error;
};

// ---- text ----------------------------------------------------------------------------------------------

/// Text from the database or the user, made safe for a table cell: no control characters, at most `width`
/// characters.
auto cell(std::string_view text, std::size_t width = 60) -> std::string {
  std::string out;
  std::size_t chars = 0;
  for (std::size_t at = 0; at < text.size(); ++at) {
    auto byte = static_cast<unsigned char>(text[at]);
    if ((byte & 0xC0U) != 0x80U && ++chars > width) {
      out += "…";
      break;
    }
    out += byte < 0x20 || byte == 0x7f ? '?' : text[at];
  }
  return out;
}

/// Characters on screen, counting each UTF-8 sequence once.
auto display_width(std::string_view text) -> std::size_t {
  return static_cast<std::size_t>(
      std::count_if(text.begin(), text.end(), [](char c) { return (static_cast<unsigned char>(c) & 0xC0U) != 0x80U; }));
}

auto json_string(std::string_view text) -> std::string {
  std::string out = "\"";
  for (char c : text) {
    switch (c) {
      case '"': out += "\\\""; break;
      case '\\': out += "\\\\"; break;
      case '\n': out += "\\n"; break;
      case '\r': out += "\\r"; break;
      case '\t': out += "\\t"; break;
      default:
        if (static_cast<unsigned char>(c) < 0x20) {
          out += fmt::format("\\u{:04x}", static_cast<unsigned>(c));
        } else {
          out += c;
        }
    }
  }
  return out + '"';
}

auto json_time(const std::optional<pq::TimePoint>& time) -> std::string {
  return time ? json_string(pq::format_time(*time)) : "null";
}

/// The job as JSON; a leased job's token comes first, next to its id.
auto json_job(const pq::Job& job, const std::optional<std::string>& token = std::nullopt) -> std::string {
  return fmt::format(
      R"({{"id":{},{}"queue":{},"kind":{},"state":"{}","priority":{},"attempt":{},"max_attempts":{},)"
      R"("enqueued_at":{},"schedule_at":{},"expected_at":{},"attempted_at":{},"lease_until":{},"finished_at":{},)"
      R"("locked_by":{},"cancel_requested":{},"data":{},"errors":{}}})",
      job.id, token ? fmt::format(R"("token":{},)", json_string(*token)) : "", json_string(job.queue),
      json_string(job.kind), pq::to_string(job.state), job.priority, job.attempt, job.max_attempts,
      json_time(job.enqueued_at), json_time(job.schedule_at), json_time(job.expected_at),
      json_time(job.attempted_at), json_time(job.lease_until), json_time(job.finished_at),
      job.locked_by ? json_string(*job.locked_by) : "null", job.cancel_requested, job.data, job.errors);
}

/// "1 job", "2 jobs".
auto jobs_count(std::int64_t count) -> std::string {
  return fmt::format("{} job{}", count, count == 1 ? "" : "s");
}

/// `90s`, `3m12s`, `2h05m`, `3d04h`: two units are enough for a person.
auto human_duration(microseconds duration) -> std::string {
  const auto s = std::chrono::duration_cast<std::chrono::seconds>(duration).count();
  if (s >= 1000LL * 86400) return ">999d";  // a job put for 1970, say: the exact figure helps nobody
  if (s < 60) return fmt::format("{}s", s);
  if (s < 3600) return fmt::format("{}m{:02}s", s / 60, s % 60);
  if (s < 86400) return fmt::format("{}h{:02}m", s / 3600, s % 3600 / 60);
  return fmt::format("{}d{:02}h", s / 86400, s % 86400 / 3600);
}

/// A time relative to this machine's clock: `3m12s ago`, `in 2h05m`. Good enough for display only.
auto relative(pq::TimePoint time) -> std::string {
  const auto age = std::chrono::duration_cast<microseconds>(pq::Clock::now() - time);
  const auto magnitude = age >= 0us ? age : -age;
  // Under a second, whole seconds would say "in 0s" for a job due in 0.8 s.
  const auto text = magnitude < 1s ? fmt::format("{:.1f}s", std::chrono::duration<double>(magnitude).count())
                                   : human_duration(magnitude);
  return age >= 0us ? text + " ago" : "in " + text;
}

/// A time as pq shows it everywhere: UTC, `2026-12-01T10:00:00.000000Z`. Text that is no time (an error
/// entry written by hand) is shown as it is, made safe.
auto shown_time(std::string_view text) -> std::string {
  try {
    if (auto at = pq::parse_when(text).at()) return pq::format_time(pq::TimePoint{*at});
  } catch (const pq::UsageError&) {
  }
  return cell(text, 40);
}

class Table {
 public:
  struct Column {
    std::string header;
    bool numeric = false;  // right-aligned
  };
  explicit Table(std::vector<Column> columns) : columns_(std::move(columns)) {}

  void add(std::vector<std::string> row) { rows_.push_back(std::move(row)); }

  /// The table, with as many columns from the left as fit in `max_width` characters (always the first).
  [[nodiscard]] auto render(std::size_t max_width = std::string::npos) const -> std::string {
    std::vector<std::size_t> widths;
    for (const auto& column : columns_) widths.push_back(display_width(column.header));
    for (const auto& row : rows_) {
      for (std::size_t i = 0; i < row.size(); ++i) widths[i] = std::max(widths[i], display_width(row[i]));
    }
    std::size_t shown = 1;
    for (std::size_t used = widths[0]; shown < widths.size() && used + 2 + widths[shown] <= max_width; ++shown) {
      used += 2 + widths[shown];
    }
    std::string out;
    auto line = [&](auto&& text_of) {
      std::string text;
      for (std::size_t i = 0; i < shown; ++i) {
        const std::string& value = text_of(i);
        const std::string padding(widths[i] - display_width(value), ' ');
        if (i > 0) text += "  ";
        text += columns_[i].numeric ? padding + value : value + padding;
      }
      while (text.ends_with(' ')) text.pop_back();
      out += text + '\n';
    };
    line([&](std::size_t i) -> const std::string& { return columns_[i].header; });
    for (const auto& row : rows_) line([&](std::size_t i) -> const std::string& { return row[i]; });
    return out;
  }

 private:
  std::vector<Column> columns_;
  std::vector<std::vector<std::string>> rows_;
};

// ---- options -------------------------------------------------------------------------------------------

auto text_option(const cxxopts::ParseResult& args, const std::string& name) -> std::optional<std::string> {
  if (args.count(name) == 0) return std::nullopt;
  return args[name].as<std::string>();
}

template <class Integer>
auto parse_integer(std::string_view what, std::string_view text) -> Integer {
  Integer value{};
  auto [end, error] = std::from_chars(text.data(), text.data() + text.size(), value);
  if (error != std::errc{} || end != text.data() + text.size()) {
    throw pq::UsageError(fmt::format("bad {} '{}': expected an integer", what, cell(text, 40)));
  }
  return value;
}

auto parse_id(std::string_view text) -> std::int64_t {
  auto id = parse_integer<std::int64_t>("job id", text);
  if (id < 1) throw pq::UsageError(fmt::format("bad job id '{}': ids start at 1", text));
  return id;
}

/// A duration as pq::parse_duration reads it (`--wait 1.5`, `--wait 2m`), its error naming the option.
auto parse_seconds(std::string_view what, std::string_view text) -> microseconds {
  try {
    return pq::parse_duration(text);
  } catch (const pq::UsageError& error) {
    std::string message = error.what();
    constexpr std::string_view kGeneric = "bad duration";
    if (message.starts_with(kGeneric)) message.replace(0, kGeneric.size(), fmt::format("bad {}", what));
    throw pq::UsageError(message);
  }
}

/// A failed write to stdout: what the command did is undone where it can be, and pq exits 3.
class OutputError : public pq::Error {
 public:
  using pq::Error::Error;
};

/// Writes out what stdout buffers; throws OutputError when any of the output could not be written (a full
/// disk, a closed descriptor, a reader that went away).
void flush_output() {
  if (std::fflush(stdout) != 0 || std::ferror(stdout) != 0) {
    throw OutputError(fmt::format("cannot write to stdout: {}", std::strerror(errno)));
  }
}

auto state_option(const cxxopts::ParseResult& args) -> std::optional<pq::JobState> {
  if (auto state = text_option(args, "state")) return pq::parse_job_state(*state);
  return std::nullopt;
}

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
  [[nodiscard]] auto required(const std::string& name, std::string_view shown) const -> std::string {
    if (auto value = text(name)) return *value;
    throw pq::UsageError(fmt::format("{} needs {} (see pq {} --help)", command_, shown, command_));
  }

  auto pq() -> pq::PQ& {
    if (!pq_) pq_.emplace(text("db").value_or(""), pq::ConnectionOptions{.schema = args_["schema"].as<std::string>()});
    return *pq_;
  }

  /// "job 42 is running", for messages about a job a command could not act on.
  auto state_of(std::int64_t id) -> std::string {
    auto job = pq().job(id);
    return job ? fmt::format("job {} is {}", id, pq::to_string(job->state)) : fmt::format("job {} not found", id);
  }

 private:
  std::string command_;
  cxxopts::ParseResult args_;
  std::optional<pq::PQ> pq_;
};

// ---- put -----------------------------------------------------------------------------------------------

/// A stream buffer on a file descriptor that keeps the read error, where std::cin would take it for the end
/// of the input and std::ifstream throw libstdc++'s own text.
class FdBuffer : public std::streambuf {
 public:
  explicit FdBuffer(int fd) : fd_(fd) {}
  void use(int fd) noexcept { fd_ = fd; }
  /// The errno of the read that failed, or 0.
  [[nodiscard]] auto error() const noexcept -> int { return error_; }

 protected:
  auto underflow() -> int_type override {
    while (error_ == 0) {
      const auto got = ::read(fd_, buffer_.data(), buffer_.size());
      if (got > 0) {
        setg(buffer_.data(), buffer_.data(), buffer_.data() + got);
        return traits_type::to_int_type(buffer_[0]);
      }
      if (got == 0) break;
      if (errno != EINTR) error_ = errno;
    }
    return traits_type::eof();
  }

 private:
  int fd_;
  int error_ = 0;
  std::array<char, 65536> buffer_{};
};

/// The input of put: a file, or stdin for none or "-".
class Input {
 public:
  explicit Input(const std::optional<std::string>& path) {
    if (!path || *path == "-") {
      if (::isatty(STDIN_FILENO) != 0) fmt::print(stderr, "pq: reading JSON from stdin; end it with Ctrl-D\n");
      return;
    }
    name_ = fmt::format("'{}'", cell(*path));
    fd_ = ::open(path->c_str(), O_RDONLY | O_CLOEXEC);
    if (fd_ < 0) throw pq::UsageError(fmt::format("cannot read {}: {}", name_, std::strerror(errno)));
    buffer_.use(fd_);
    struct stat status {};
    if (::fstat(fd_, &status) == 0 && S_ISDIR(status.st_mode)) {
      ::close(fd_);
      throw pq::UsageError(fmt::format("cannot read {}: it is a directory", name_));
    }
    if (S_ISREG(status.st_mode)) size_ = static_cast<std::size_t>(status.st_size);
  }
  Input(const Input&) = delete;
  auto operator=(const Input&) -> Input& = delete;
  ~Input() {
    if (fd_ != STDIN_FILENO) ::close(fd_);
  }

  auto stream() -> std::istream& { return stream_; }
  /// Bytes in the input, when it is a regular file.
  [[nodiscard]] auto size() const -> std::optional<std::size_t> { return size_; }

  /// Throws when a read failed, so that an unreadable input is not taken for an empty or a short one.
  void check() const {
    if (buffer_.error() != 0) {
      throw pq::UsageError(fmt::format("cannot read {}: {}", name_, std::strerror(buffer_.error())));
    }
  }

  /// The whole input, refused as soon as it holds more than `limit` bytes, so that memory stays bounded.
  auto read_all(std::size_t limit) -> std::string {
    std::string text;
    std::array<char, 65536> chunk{};
    while (stream_.read(chunk.data(), chunk.size()) || stream_.gcount() > 0) {
      text.append(chunk.data(), static_cast<std::size_t>(stream_.gcount()));
      if (text.size() > limit) {
        throw pq::UsageError(fmt::format("{} holds more than {} bytes, the limit for one job "
                                         "(ConnectionOptions::max_payload)", name_, limit));
      }
    }
    check();
    return text;
  }

 private:
  std::string name_ = "stdin";
  int fd_ = STDIN_FILENO;
  FdBuffer buffer_{STDIN_FILENO};
  std::istream stream_{&buffer_};
  std::optional<std::size_t> size_;
};

/// A one-line progress report on stderr, drawn only when a person watches it.
class Progress {
 public:
  explicit Progress(std::optional<std::size_t> total_bytes)
      : shown_(::isatty(STDERR_FILENO) != 0), total_(total_bytes) {}
  Progress(const Progress&) = delete;
  auto operator=(const Progress&) -> Progress& = delete;
  ~Progress() {
    if (shown_) fmt::print(stderr, "\r\x1b[K");
  }

  void update(std::size_t jobs, std::size_t bytes) const {
    if (!shown_) return;
    if (total_ && *total_ > 0) {
      const auto percent = std::min<std::size_t>(100, bytes * 100 / *total_);
      const auto filled = percent * 30 / 100;
      fmt::print(stderr, "\r[{}{}] {:3}%  {}", std::string(filled, '#'), std::string(30 - filled, ' '), percent,
                 jobs_count(static_cast<std::int64_t>(jobs)));
    } else {
      fmt::print(stderr, "\r{}", jobs_count(static_cast<std::int64_t>(jobs)));
    }
    std::fflush(stderr);
  }

 private:
  bool shown_;
  std::optional<std::size_t> total_;
};

void print_ids(std::span<const std::int64_t> ids, bool json) {
  std::string out;
  for (auto id : ids) out += json ? fmt::format("{{\"id\":{}}}\n", id) : fmt::format("{}\n", id);
  std::fwrite(out.data(), 1, out.size(), stdout);
}

/// Puts in one transaction that commits only once the ids are out: when they cannot be written, nothing
/// is put, rather than jobs nobody knows the ids of.
template <class PutAll>
auto put_and_print(Context& ctx, PutAll&& put_all) -> int {
  auto tx = ctx.pq().begin();
  print_ids(put_all(tx), ctx.json());
  flush_output();
  tx.commit();
  return kOk;
}

/// One transaction around every batch: all lines or none, so a bad line 90,000 leaves nothing half done.
auto put_ndjson(Context& ctx, pq::Queue& queue, const pq::PutOptions& options, Input& input) -> int {
  try {
    return put_and_print(ctx, [&](pq::Transaction& tx) {
      std::vector<std::int64_t> ids;
      pq::NdjsonReader reader(input.stream(), kBatch, ctx.pq().options().max_payload);
      const Progress progress(input.size());
      for (auto batch = reader.next(); !batch.empty(); batch = reader.next()) {
        auto batch_ids = queue.put_many(tx, batch, options);
        ids.insert(ids.end(), batch_ids.begin(), batch_ids.end());
        progress.update(ids.size(), reader.bytes());
      }
      input.check();
      return ids;
    });
  } catch (const pq::JsonError& error) {
    throw pq::JsonError(fmt::format("{}; no job was put", error.what()), error.offset());
  } catch (const pq::UsageError& error) {
    throw pq::UsageError(fmt::format("{}; no job was put", error.what()));
  } catch (const OutputError& error) {
    throw OutputError(fmt::format("{}; no job was put", error.what()));
  }
}

auto run_put(Context& ctx) -> int {
  auto queue = ctx.pq()[ctx.required("queue", "a QUEUE")];
  pq::PutOptions options;
  if (auto at = ctx.text("at")) options.schedule_at = pq::parse_when(*at);
  if (auto expected = ctx.text("expected")) options.expected_at = pq::parse_when(*expected);
  if (auto priority = ctx.text("priority")) options.priority = parse_integer<int>("--priority", *priority);
  if (auto attempts = ctx.text("max-attempts")) options.max_attempts = parse_integer<int>("--max-attempts", *attempts);
  if (auto kind = ctx.text("kind")) options.kind = *kind;
  const auto json = ctx.text("json-text");
  if (json && ctx.has("file")) throw pq::UsageError("give the job as an argument or with --file, not both");
  if (json && ctx.has("ndjson")) throw pq::UsageError("--ndjson reads its jobs from --file or stdin, not an argument");
  std::string text;
  if (json) {
    text = *json;
  } else {
    Input input(ctx.text("file"));
    if (ctx.has("ndjson")) return put_ndjson(ctx, queue, options, input);
    text = input.read_all(ctx.pq().options().max_payload);
  }
  try {
    return put_and_print(ctx, [&](pq::Transaction& tx) { return std::array{queue.put(tx, text, options)}; });
  } catch (const OutputError& error) {
    throw OutputError(fmt::format("{}; the job was not put", error.what()));
  }
}

// ---- get -----------------------------------------------------------------------------------------------

auto wait_option(const Context& ctx) -> pq::Wait {
  const auto text = ctx.text("wait");
  if (!text) return 0s;
  return *text == "forever" ? pq::forever : parse_seconds("--wait", *text);
}

/// get --lease: the job stays running under a lease until done or fail, so a consumer that dies before it
/// finishes loses nothing. The first line is "ID TOKEN", the second the job's JSON.
auto get_leased(Context& ctx, const std::string& name) -> int {
  if (ctx.has("keep")) throw pq::UsageError("--keep only looks, and leases nothing: give one of --keep and --lease");
  const auto lease = parse_seconds("--lease", *ctx.text("lease"));
  auto leased = ctx.pq()[name].lease(lease, wait_option(ctx));
  if (!leased) throw Nothing(fmt::format("queue '{}' is empty", cell(name)));
  const auto& job = leased->job;
  if (ctx.json()) {
    fmt::print("{}\n", json_job(job, leased->token));
  } else {
    fmt::print("{} {}\n{}\n", job.id, leased->token, job.data);
  }
  try {
    flush_output();
  } catch (const OutputError& error) {
    pq::release_lease(ctx.pq(), job.id, leased->token);
    throw OutputError(fmt::format("{}; job {} stays in the queue", error.what(), job.id));
  }
  return kOk;
}

auto run_get(Context& ctx) -> int {
  const auto name = ctx.required("queue", "a QUEUE");
  if (ctx.has("lease")) return get_leased(ctx, name);
  auto empty = [&] { return Nothing(fmt::format("queue '{}' is empty", cell(name))); };
  if (ctx.has("keep")) {
    if (ctx.has("wait")) throw pq::UsageError("--keep looks at the queue as it is and cannot --wait");
    auto job = pq::Admin{ctx.pq()}.peek(name);
    if (!job) throw empty();
    fmt::print("{}\n", ctx.json() ? json_job(*job) : job->data);
    return kOk;
  }
  // The job completes only when its transaction commits, after it was written out: a job that could not be
  // printed stays in the queue.
  auto queue = ctx.pq()[name];
  auto tx = ctx.pq().begin();
  auto job = queue.get(tx, wait_option(ctx));
  if (!job) throw empty();
  fmt::print("{}\n", ctx.json() ? json_job(*job) : job->data);
  try {
    flush_output();
  } catch (const OutputError& error) {
    throw OutputError(fmt::format("{}; job {} stays in the queue", error.what(), job->id));
  }
  tx.commit();
  return kOk;
}

// ---- done, fail ----------------------------------------------------------------------------------------

auto lease_of(Context& ctx) -> std::pair<std::int64_t, std::string> {
  const auto id = parse_id(ctx.required("id", "a job ID"));
  const auto token = ctx.text("token");
  if (!token) throw pq::UsageError(fmt::format("{} needs --token T, as pq get --lease printed it", ctx.command()));
  return {id, *token};
}

auto lost(std::int64_t id) -> Nothing {
  return Nothing(fmt::format("job {}: the lease has passed on (it lapsed and the job was rescued, or it was "
                             "cancelled or taken by another); nothing was recorded",
                             id));
}

auto print_outcome(Context& ctx, std::int64_t id, std::string_view outcome, std::string_view text) -> int {
  if (ctx.json()) {
    fmt::print("{{\"id\":{},\"outcome\":\"{}\"}}\n", id, outcome);
  } else {
    fmt::print("job {} {}\n", id, text);
  }
  return kOk;
}

auto run_done(Context& ctx) -> int {
  const auto [id, token] = lease_of(ctx);
  if (pq::complete_lease(ctx.pq(), id, token) == pq::LeaseResult::lost) throw lost(id);
  return print_outcome(ctx, id, "completed", "completed");
}

auto run_fail(Context& ctx) -> int {
  const auto [id, token] = lease_of(ctx);
  const auto error = ctx.text("error").value_or("failed with pq fail");
  switch (pq::fail_lease(ctx.pq(), id, token, error)) {
    case pq::LeaseResult::retrying: return print_outcome(ctx, id, "retrying", "will run again after a backoff");
    case pq::LeaseResult::failed: return print_outcome(ctx, id, "failed", "failed: it had no attempts left");
    case pq::LeaseResult::cancelled: return print_outcome(ctx, id, "cancelled", "cancelled, as was requested");
    default: throw lost(id);
  }
}

// ---- stats and top -------------------------------------------------------------------------------------

auto stats_table(const std::vector<pq::QueueStats>& stats, std::optional<microseconds> rate_window) -> Table {
  std::vector<Table::Column> columns{{"QUEUE"},          {"SCHEDULED", true}, {"AVAILABLE", true},
                                     {"RUNNING", true},  {"COMPLETED", true}, {"FAILED", true},
                                     {"CANCELLED", true}, {"OLDEST", true}};
  columns.push_back(rate_window ? Table::Column{"FINISHED/S", true} : Table::Column{"FINISHED/MIN", true});
  Table table(std::move(columns));
  for (const auto& q : stats) {
    std::string finished = std::to_string(q.finished);
    if (rate_window) {
      const auto seconds = std::chrono::duration<double>(*rate_window).count();
      finished = fmt::format("{:.1f}", seconds > 0 ? static_cast<double>(q.finished) / seconds : 0.0);
    }
    table.add({cell(q.queue, 40), std::to_string(q.scheduled), std::to_string(q.available), std::to_string(q.running),
               std::to_string(q.completed), std::to_string(q.failed), std::to_string(q.cancelled),
               q.oldest_available ? human_duration(*q.oldest_available) : "-", finished});
  }
  return table;
}

auto run_stats(Context& ctx) -> int {
  const auto stats = pq::Admin{ctx.pq()}.stats(1min);
  if (ctx.json()) {
    std::string out = "[";
    for (const auto& q : stats) {
      if (out.size() > 1) out += ',';
      out += fmt::format(
          R"({{"queue":{},"scheduled":{},"available":{},"running":{},"completed":{},"failed":{},"cancelled":{},)"
          R"("oldest_available_seconds":{},"finished_last_minute":{}}})",
          json_string(q.queue), q.scheduled, q.available, q.running, q.completed, q.failed, q.cancelled,
          q.oldest_available ? fmt::format("{:.6f}", std::chrono::duration<double>(*q.oldest_available).count())
                             : "null",
          q.finished);
    }
    fmt::print("{}]\n", out);
  } else if (stats.empty()) {
    fmt::print("no jobs in schema '{}'\n", cell(ctx.pq().options().schema));
  } else {
    fmt::print("{}", stats_table(stats, std::nullopt).render());
  }
  return kOk;
}

/// SIGINT and SIGTERM become a byte in a pipe, so a sleeping loop wakes at once and stops cleanly.
class StopSignals {
 public:
  StopSignals() {
    if (::pipe2(fds_.data(), O_CLOEXEC | O_NONBLOCK) != 0) {
      throw pq::Error(fmt::format("pipe: {}", std::strerror(errno)));
    }
    write_fd_ = fds_[1];
    struct sigaction action {};
    action.sa_handler = [](int) {
      const int saved = errno;  // the interrupted code may be about to read it
      const char byte = 1;
      [[maybe_unused]] auto written = ::write(write_fd_, &byte, 1);
      errno = saved;
    };
    sigemptyset(&action.sa_mask);
    ::sigaction(SIGINT, &action, &old_int_);
    ::sigaction(SIGTERM, &action, &old_term_);
  }
  StopSignals(const StopSignals&) = delete;
  auto operator=(const StopSignals&) -> StopSignals& = delete;
  ~StopSignals() {
    ::sigaction(SIGINT, &old_int_, nullptr);
    ::sigaction(SIGTERM, &old_term_, nullptr);
    ::close(fds_[0]);
    ::close(fds_[1]);
  }

  /// Sleeps up to `timeout`; true when a stop signal came.
  [[nodiscard]] auto wait(microseconds timeout) const -> bool {
    pollfd fd{fds_[0], POLLIN, 0};
    const auto deadline = std::chrono::steady_clock::now() + timeout;
    for (;;) {
      const auto left = std::chrono::ceil<std::chrono::milliseconds>(deadline - std::chrono::steady_clock::now());
      const int rc = ::poll(&fd, 1, static_cast<int>(std::max<std::int64_t>(0, left.count())));
      if (rc > 0) return true;
      if (rc == 0) return false;
      if (errno != EINTR) throw pq::Error(fmt::format("poll: {}", std::strerror(errno)));
    }
  }

 private:
  static inline int write_fd_ = -1;
  std::array<int, 2> fds_{-1, -1};
  struct sigaction old_int_ {};
  struct sigaction old_term_ {};
};

/// The width to fit: COLUMNS when set, else the terminal's; unlimited for output that is no terminal.
auto terminal_width(bool terminal) -> std::size_t {
  if (const char* columns = std::getenv("COLUMNS")) {
    std::size_t value = 0;
    const std::string_view text = columns;
    auto [end, error] = std::from_chars(text.data(), text.data() + text.size(), value);
    if (error == std::errc{} && end == text.data() + text.size() && value > 0) return value;
  }
  winsize size{};
  if (terminal && ::ioctl(STDOUT_FILENO, TIOCGWINSZ, &size) == 0 && size.ws_col > 0) return size.ws_col;
  return std::string::npos;
}

auto run_top(Context& ctx) -> int {
  const auto interval = parse_seconds("--interval", ctx.text("interval").value_or("1"));
  if (interval <= 0us) throw pq::UsageError("--interval must be longer than 0s");
  const auto iterations = parse_integer<std::int64_t>("--iterations", ctx.text("iterations").value_or("0"));
  if (iterations < 0) throw pq::UsageError("--iterations must be 0 (until stopped) or more");
  const bool terminal = ::isatty(STDOUT_FILENO) != 0;
  const auto width = terminal_width(terminal);
  pq::Admin admin{ctx.pq()};
  const StopSignals stop;
  // Each sample counts the jobs finished since the previous one, so the rate needs no counter in the database.
  auto window = interval;
  auto previous = std::chrono::steady_clock::now();
  for (std::int64_t i = 0; iterations == 0 || i < iterations; ++i) {
    if (i > 0) {
      if (stop.wait(interval)) break;
      const auto now = std::chrono::steady_clock::now();
      window = std::chrono::duration_cast<microseconds>(now - previous);
      previous = now;
    }
    const auto stats = admin.stats(window);
    std::string screen;
    if (terminal) {
      const auto title = fmt::format("pq top: {}, schema '{}', every {}; Ctrl-C stops", ctx.pq().describe(),
                                     cell(ctx.pq().options().schema), human_duration(interval));
      screen = fmt::format("\x1b[H\x1b[2J{}\n\n", cell(title, width));
    } else if (i > 0) {
      screen = "\n";
    }
    screen += stats.empty() ? "no jobs\n" : stats_table(stats, window).render(width);
    fmt::print("{}", screen);
    flush_output();  // with SIGPIPE ignored, a reader that left (pq top | head) must end the loop
  }
  return kOk;
}

// ---- jobs and show -------------------------------------------------------------------------------------

void print_jobs(const std::vector<pq::Job>& jobs, bool json) {
  if (json) {
    std::string out = "[";
    for (const auto& job : jobs) out += (out.size() > 1 ? "," : "") + json_job(job);
    fmt::print("{}]\n", out);
    return;
  }
  if (jobs.empty()) {
    fmt::print("no jobs\n");
    return;
  }
  Table table({{"ID", true}, {"QUEUE"}, {"KIND"}, {"STATE"}, {"PRI", true}, {"TRIES", true}, {"ENQUEUED"}, {"DATA"}});
  for (const auto& job : jobs) {
    table.add({std::to_string(job.id), cell(job.queue, 30), cell(job.kind, 20), std::string(pq::to_string(job.state)),
               std::to_string(job.priority), fmt::format("{}/{}", job.attempt, job.max_attempts),
               relative(job.enqueued_at), cell(job.data, 50)});
  }
  fmt::print("{}", table.render());
}

auto run_jobs(Context& ctx) -> int {
  pq::JobFilter filter{.queue = ctx.text("queue"), .state = state_option(ctx.args()), .kind = ctx.text("kind")};
  if (auto limit = ctx.text("limit")) filter.limit = parse_integer<std::int64_t>("--limit", *limit);
  print_jobs(pq::Admin{ctx.pq()}.jobs(filter), ctx.json());
  return kOk;
}

auto run_show(Context& ctx) -> int {
  const auto id = parse_id(ctx.required("id", "a job ID"));
  auto job = ctx.pq().job(id);
  if (!job) throw Nothing(fmt::format("job {} not found", id));
  if (ctx.json()) {
    fmt::print("{}\n", json_job(*job));
    return kOk;
  }
  auto time = [](const std::optional<pq::TimePoint>& t) {
    return t ? fmt::format("{} ({})", pq::format_time(*t), relative(*t)) : std::string("-");
  };
  std::string out;
  auto field = [&](std::string_view name, const std::string& value) {
    auto line = fmt::format("{:<17}{}", name, value);
    while (line.ends_with(' ')) line.pop_back();
    out += line + '\n';
  };
  field("id", std::to_string(job->id));
  field("queue", cell(job->queue, 200));
  field("kind", job->kind.empty() ? "-" : cell(job->kind, 200));
  field("state", fmt::format("{}{}", pq::to_string(job->state), job->cancel_requested ? " (cancel requested)" : ""));
  field("priority", std::to_string(job->priority));
  field("attempt", fmt::format("{} of {}", job->attempt, job->max_attempts));
  field("enqueued_at", time(job->enqueued_at));
  field("schedule_at", time(job->schedule_at));
  field("expected_at", time(job->expected_at));
  field("attempted_at", time(job->attempted_at));
  field("lease_until", time(job->lease_until));
  field("locked_by", job->locked_by ? cell(*job->locked_by, 200) : "-");
  field("finished_at", time(job->finished_at));
  field("data", job->data);
  const auto history = pq::error_history(*job);
  field("errors", history.empty() ? "-" : "");
  for (const auto& error : history) {
    out += fmt::format("  attempt {}{}: {}\n", error.attempt, error.at.empty() ? "" : " at " + shown_time(error.at),
                       cell(error.error, 500));
  }
  fmt::print("{}", out);
  return kOk;
}

// ---- retry, cancel, purge ------------------------------------------------------------------------------

auto run_retry(Context& ctx) -> int {
  const auto id = ctx.text("id");
  const auto queue = ctx.text("queue");
  if (id.has_value() == queue.has_value()) {
    throw pq::UsageError("retry needs a job ID or --queue Q (with --state failed or cancelled), not both");
  }
  if (id && ctx.has("state")) throw pq::UsageError("--state goes with --queue; retry ID takes no --state");
  std::int64_t requeued = 0;
  if (id) {
    const auto job = parse_id(*id);
    switch (pq::Admin{ctx.pq()}.retry(job)) {
      case pq::RetryResult::requeued: requeued = 1; break;
      case pq::RetryResult::not_found: throw Nothing(fmt::format("job {} not found", job));
      case pq::RetryResult::not_retryable:
        throw Nothing(fmt::format("{}; only failed or cancelled jobs can be retried", ctx.state_of(job)));
    }
  } else {
    requeued = pq::Admin{ctx.pq()}.retry_all(*queue, state_option(ctx.args()).value_or(pq::JobState::failed));
  }
  if (ctx.json()) {
    fmt::print("{{\"requeued\":{}}}\n", requeued);
  } else if (id) {
    fmt::print("job {} is available again\n", *id);
  } else {
    fmt::print("requeued {} of queue '{}'\n", jobs_count(requeued), cell(*queue));
  }
  return kOk;
}

auto run_cancel(Context& ctx) -> int {
  const auto id = parse_id(ctx.required("id", "a job ID"));
  std::string_view outcome;
  switch (pq::Admin{ctx.pq()}.cancel(id)) {
    case pq::CancelResult::cancelled: outcome = "cancelled"; break;
    case pq::CancelResult::cancel_requested: outcome = "cancel requested"; break;
    case pq::CancelResult::not_found: throw Nothing(fmt::format("job {} not found", id));
    case pq::CancelResult::already_finished:
      throw Nothing(fmt::format("{}; only scheduled, available or running jobs can be cancelled", ctx.state_of(id)));
    case pq::CancelResult::in_transaction:
      throw Nothing(fmt::format("job {} runs in a transaction and cannot be cancelled; it ends with that "
                                "transaction (a transactional task's at its timeout)", id));
  }
  if (ctx.json()) {
    fmt::print("{{\"id\":{},\"outcome\":\"{}\"}}\n", id, outcome);
  } else if (outcome == "cancelled") {
    fmt::print("job {} cancelled\n", id);
  } else {
    fmt::print("job {} is running: its worker will stop it at its next heartbeat\n", id);
  }
  return kOk;
}

auto run_purge(Context& ctx) -> int {
  pq::PurgeFilter filter{.queue = ctx.text("queue").value_or(""), .state = state_option(ctx.args()),
                         .unfinished = ctx.has("force")};
  if (filter.queue.empty()) throw pq::UsageError("purge needs --queue Q (see pq purge --help)");
  if (auto older = ctx.text("older-than")) filter.older_than = parse_seconds("--older-than", *older);
  if (filter.state && !filter.unfinished && *filter.state != pq::JobState::completed &&
      *filter.state != pq::JobState::failed && *filter.state != pq::JobState::cancelled) {
    throw pq::UsageError(fmt::format("{} jobs are not finished, and purging them loses them; add --force if "
                                     "that is what you want (--dry-run counts them first)",
                                     pq::to_string(*filter.state)));
  }
  pq::Admin admin{ctx.pq()};
  if (ctx.has("dry-run")) {
    const auto matching = admin.count_purge(filter);
    if (ctx.json()) {
      fmt::print("{{\"would_delete\":{}}}\n", matching);
    } else {
      fmt::print("would delete {} of queue '{}' (dry run: nothing deleted)\n", jobs_count(matching),
                 cell(filter.queue));
    }
    return kOk;
  }
  const auto purged = admin.purge(filter);
  if (ctx.json()) {
    fmt::print("{{\"deleted\":{},\"skipped\":{}}}\n", purged.deleted, purged.skipped);
  } else {
    fmt::print("deleted {} of queue '{}'{}\n", jobs_count(purged.deleted), cell(filter.queue),
               purged.skipped == 0 ? ""
                                   : fmt::format("; skipped {} held by a running transaction",
                                                 jobs_count(purged.skipped)));
  }
  return kOk;
}

// ---- migrate, version ----------------------------------------------------------------------------------

auto run_migrate(Context& ctx) -> int {
  const int version = ctx.pq().create();
  const auto& schema = ctx.pq().options().schema;
  if (ctx.json()) {
    fmt::print("{{\"schema\":{},\"version\":{}}}\n", json_string(schema), version);
  } else {
    fmt::print("schema '{}' is at version {}\n", cell(schema), version);
  }
  return kOk;
}

auto run_version(Context& ctx) -> int {
  if (ctx.json()) {
    fmt::print("{{\"version\":\"{}\",\"schema_version\":{}}}\n", PQ_VERSION, pq::PQ::latest_schema_version());
  } else {
    fmt::print("pq {} (schema version {})\n", PQ_VERSION, pq::PQ::latest_schema_version());
  }
  return kOk;
}

// ---- dispatch ------------------------------------------------------------------------------------------

struct Command {
  std::string_view name;
  std::string_view arguments;  // positional, for the usage line
  std::string_view summary;
  std::vector<std::string> positional;
  std::function<void(cxxopts::OptionAdder&)> options;
  std::function<int(Context&)> run;
};

auto commands() -> const std::vector<Command>& {
  using cxxopts::value;
  static const std::vector<Command> all{
      {"put", "QUEUE [JSON]", "Put a job and print its id; --ndjson puts one job per line and prints an id per line.",
       {"queue", "json-text"},
       [](cxxopts::OptionAdder& add) {
         add("file", "read the JSON from file F (- for stdin); without JSON or --file, stdin",
             value<std::string>(), "F")
            ("ndjson", "one job per line, put in batches inside one transaction: all lines or none")
            ("at", "not before then: a delay (90s, 5m, 2h, 1d) or an ISO-8601 time", value<std::string>(), "WHEN")
            ("expected", "when the job is expected to run: orders jobs of equal priority", value<std::string>(),
             "WHEN")
            ("priority", "lower runs first (-32768..32767, default 0)", value<std::string>(), "N")
            ("max-attempts", "attempts before the job fails (default 25)", value<std::string>(), "N")
            ("kind", "the task that handles the job", value<std::string>(), "KIND");
       },
       run_put},
      {"get", "QUEUE", "Take the next job of QUEUE, print its JSON and complete it (with --lease: lease it). Exit "
                       "1 when there is none.",
       {"queue"},
       [](cxxopts::OptionAdder& add) {
         add("wait", "wait up to S seconds (or 2m, ...) for a job, or forever; default: do not wait",
             value<std::string>(), "S")
            ("keep", "only look: print the job a get would take, and leave it")
            ("lease", "lease the job for D (30s, 5m) instead of completing it: prints \"ID TOKEN\", then the "
                      "JSON; finish it with pq done or pq fail",
             value<std::string>(), "D");
       },
       run_get},
      {"done", "ID --token T", "Complete a job taken with pq get --lease. Exit 1 when its lease has passed on.",
       {"id"},
       [](cxxopts::OptionAdder& add) { add("token", "the token pq get --lease printed", value<std::string>(), "T"); },
       run_done},
      {"fail", "ID [ERROR] --token T",
       "Record ERROR for a job taken with pq get --lease: it runs again after a backoff while attempts remain, "
       "else it fails. Exit 1 when its lease has passed on.",
       {"id", "error"},
       [](cxxopts::OptionAdder& add) { add("token", "the token pq get --lease printed", value<std::string>(), "T"); },
       run_fail},
      {"stats", "", "Per queue: jobs by state, how long the oldest available job has waited, jobs finished in the "
                    "last minute.",
       {}, [](cxxopts::OptionAdder&) {}, run_stats},
      {"top", "", "Stats as a live table with rates (jobs finished per second), until Ctrl-C.",
       {},
       [](cxxopts::OptionAdder& add) {
         add("interval", "seconds between samples: 1 (default), 5s, 1m", value<std::string>(), "S")
            ("iterations", "stop after N samples (default 0: until Ctrl-C)", value<std::string>(), "N");
       },
       run_top},
      {"jobs", "", "List jobs, newest first.",
       {},
       [](cxxopts::OptionAdder& add) {
         add("queue", "only this queue", value<std::string>(), "Q")
            ("state", "only this state: scheduled, available, running, completed, failed or cancelled",
             value<std::string>(), "S")
            ("kind", "only this kind", value<std::string>(), "K")
            ("limit", "at most N jobs (default 100)", value<std::string>(), "N");
       },
       run_jobs},
      {"show", "ID", "One job, with its error history.", {"id"}, [](cxxopts::OptionAdder&) {}, run_show},
      {"retry", "ID | --queue Q [--state S]",
       "Make a failed or cancelled job available again, with one more attempt if it had none left; its error "
       "history stays. With --queue, every such job of the queue.",
       {"id"},
       [](cxxopts::OptionAdder& add) {
         add("queue", "retry the jobs of this queue", value<std::string>(), "Q")
            ("state", "with --queue: failed (default) or cancelled", value<std::string>(), "S");
       },
       run_retry},
      {"cancel", "ID",
       "Cancel a scheduled or available job. A running job is asked to stop: its worker sees the request at its "
       "next heartbeat. A job held by a transaction (a transactional task) cannot be cancelled, and pq says so "
       "at once.",
       {"id"}, [](cxxopts::OptionAdder&) {}, run_cancel},
      {"purge", "--queue Q",
       "Delete the finished (completed, failed, cancelled) jobs of a queue and say how many. Jobs held by a "
       "running transaction are skipped, not waited for.",
       {},
       [](cxxopts::OptionAdder& add) {
         add("queue", "the queue (required)", value<std::string>(), "Q")
            ("state", "only this state: completed, failed or cancelled; an unfinished one needs --force",
             value<std::string>(), "S")
            ("force", "allow --state scheduled, available or running: deletes jobs that have not run")
            ("dry-run", "only count the jobs that would be deleted")
            ("older-than", "only jobs finished (unfinished: enqueued) longer ago than this, e.g. 7d",
             value<std::string>(), "D");
       },
       run_purge},
      {"migrate", "", "Install or upgrade pq's tables in the schema and print its version.", {},
       [](cxxopts::OptionAdder&) {}, run_migrate},
      {"version", "", "Print pq's version and the schema version it installs.", {}, [](cxxopts::OptionAdder&) {},
       run_version},
  };
  return all;
}

auto find_command(std::string_view name) -> const Command* {
  for (const auto& command : commands()) {
    if (command.name == name) return &command;
  }
  return nullptr;
}

auto make_options(const Command& command) -> cxxopts::Options {
  cxxopts::Options options(fmt::format("pq {}", command.name), std::string(command.summary));
  options.positional_help(std::string(command.arguments));
  auto specific = options.add_options();
  command.options(specific);
  auto common = options.add_options("connection");
  common("db", "libpq connection string or URI (default: DATABASE_URL, else PG* variables)",
         cxxopts::value<std::string>(), "URL")
      ("schema", "schema holding pq's tables", cxxopts::value<std::string>()->default_value("pq"), "NAME")
      ("h,help", "show this help");
  if (command.name != "top") common("json", "print JSON for scripts");
  auto positional = options.add_options("positional");
  for (const auto& name : command.positional) positional(name, "", cxxopts::value<std::string>());
  options.parse_positional(command.positional);
  return options;
}

/// The index of the command word: the first argument that is neither an option nor the value of one of the
/// connection options, which may come before it (`pq --db URL stats`).
auto command_index(std::span<char*> argv) -> std::size_t {
  for (std::size_t i = 1; i < argv.size(); ++i) {
    const std::string_view arg = argv[i];
    if (arg == "--db" || arg == "--schema") {
      if (++i == argv.size()) {
        throw pq::UsageError(fmt::format("{} needs a value: {} (see pq --help)", arg,
                                         arg == "--db" ? "a connection string or URI" : "a schema name"));
      }
    } else if (!arg.starts_with('-')) {
      return i;
    }
  }
  return 0;
}

auto run(std::span<char*> argv) -> int {
  const auto at = command_index(argv);
  const std::string_view name = at == 0 ? "" : argv[at];
  const bool asked_for_help = std::any_of(argv.begin() + 1, argv.end(), [](const char* arg) {
    return std::string_view(arg) == "--help" || std::string_view(arg) == "-h";
  });
  if (argv.size() == 1) {
    fmt::print(stderr, "{}", kHelp);
    return kUsage;
  }
  if (name.empty() && !asked_for_help) throw pq::UsageError("no command given (see pq --help)");
  if (name.empty() || name == "help") {
    const auto* topic = name == "help" && at + 1 < argv.size() ? find_command(argv[at + 1]) : nullptr;
    fmt::print("{}", topic != nullptr ? make_options(*topic).help({"", "connection"}) : std::string(kHelp));
    return kOk;
  }
  const auto* command = find_command(name);
  if (command == nullptr) {
    throw pq::UsageError(fmt::format("unknown command '{}' (see pq --help)", cell(name, 40)));
  }
  auto options = make_options(*command);
  std::vector<char*> rest{argv[0]};
  for (std::size_t i = 1; i < argv.size(); ++i) {
    if (i != at) rest.push_back(argv[i]);
  }
  cxxopts::ParseResult args;
  try {
    args = options.parse(static_cast<int>(rest.size()), rest.data());
  } catch (const cxxopts::exceptions::exception& error) {
    // "-5" or "-0" reads as options named 5 and 0: say how to give it as a value instead.
    auto is_negative = [](std::string_view arg) { return arg.size() > 1 && arg[0] == '-' && arg[1] >= '0' && arg[1] <= '9'; };
    for (std::size_t i = 1; i < rest.size(); ++i) {
      const std::string_view before = rest[i - 1];
      const bool option_value = i > 1 && before.starts_with('-') && !is_negative(before) &&
                                before.find('=') == std::string_view::npos;
      if (!is_negative(rest[i]) || option_value ||
          dynamic_cast<const cxxopts::exceptions::no_such_option*>(&error) == nullptr) {
        continue;
      }
      throw pq::UsageError(fmt::format("'{}' reads as an option; to give it as a value, put it last, after --: "
                                       "pq {} [OPTIONS] -- {}",
                                       cell(rest[i], 40), command->name, cell(rest[i], 40)));
    }
    throw pq::UsageError(fmt::format("{} (see pq {} --help)", error.what(), command->name));
  }
  // Parsed into strings of its own: the password need not stay where `ps` shows it to every local user.
  pq::hide_password_in_argv(static_cast<int>(argv.size()), argv.data());
  if (args.count("help") > 0) {
    fmt::print("{}", options.help({"", "connection"}));
    return kOk;
  }
  if (!args.unmatched().empty()) {
    throw pq::UsageError(fmt::format("unexpected argument '{}' (see pq {} --help)", cell(args.unmatched().front(), 40),
                                     command->name));
  }
  Context ctx(std::string(command->name), std::move(args));
  return command->run(ctx);
}

/// Started with stdin, stdout or stderr closed, the next descriptor opened (the database socket) would take
/// its number, and the output would go to the server. Each closed one is held by /dev/null opened in the
/// wrong direction instead, so that using it fails as a closed one does.
void keep_standard_descriptors() {
  for (int fd : {STDIN_FILENO, STDOUT_FILENO, STDERR_FILENO}) {
    if (::fcntl(fd, F_GETFD) != -1 || errno != EBADF) continue;
    const int held = ::open("/dev/null", fd == STDIN_FILENO ? O_WRONLY : O_RDONLY);
    if (held >= 0 && held != fd) {
      ::dup2(held, fd);
      ::close(held);
    }
  }
}

}  // namespace

auto main(int argc, char** argv) -> int {
  auto fail = [](int code, std::string_view message) {
    std::fflush(stdout);
    fmt::print(stderr, "pq: {}\n", pq::one_line(message));
    return code;
  };
  // A closed pipe must be an EPIPE error that keeps the job, not a silent death by SIGPIPE.
  std::signal(SIGPIPE, SIG_IGN);
  keep_standard_descriptors();
  try {
    const int code = run(std::span<char*>(argv, static_cast<std::size_t>(argc)));
    flush_output();
    return code;
  } catch (const Nothing& nothing) {
    return fail(kNothing, nothing.what());
  } catch (const pq::UsageError& error) {
    return fail(kUsage, error.what());
  } catch (const pq::JsonError& error) {
    return fail(kUsage, error.what());
  } catch (const std::exception& error) {
    return fail(kFailure, error.what());
  }
}
