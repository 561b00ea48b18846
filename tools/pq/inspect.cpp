// stats, top, jobs, show: what is in the queues, once, live, or job by job. They change nothing.
#include <fcntl.h>
#include <poll.h>
#include <sys/ioctl.h>
#include <unistd.h>

#include <algorithm>
#include <array>
#include <charconv>
#include <cerrno>
#include <csignal>
#include <cstdlib>
#include <cstring>

#include "command.hpp"

namespace pq_cli {

using namespace std::chrono_literals;
using std::chrono::microseconds;

namespace {

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

}  // namespace

auto run_stats(Context& ctx) -> int {
  const auto stats = pq::Admin{ctx.pq()}.stats(1min);
  if (ctx.json()) {
    fmt::print("{}\n", stats_json(stats));
  } else if (stats.empty()) {
    fmt::print("no jobs in schema '{}'\n", cell(ctx.pq().options().schema));
  } else {
    fmt::print("{}", stats_table(stats, std::nullopt).render());
  }
  return kOk;
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

auto run_jobs(Context& ctx) -> int {
  pq::JobFilter filter{.queue = ctx.text("queue"), .state = state_option(ctx.args()), .kind = ctx.text("kind")};
  if (auto limit = ctx.text("limit")) filter.limit = parse_integer<std::int64_t>("--limit", *limit);
  const auto jobs = pq::Admin{ctx.pq()}.jobs(filter);
  fmt::print("{}", ctx.json() ? jobs_json(jobs) + '\n' : jobs_text(jobs));
  return kOk;
}

auto run_show(Context& ctx) -> int {
  const auto id = parse_id(ctx.required("id", "a job ID"));
  auto job = ctx.pq().job(id);
  if (!job) throw Nothing(fmt::format("job {} not found", id));
  fmt::print("{}", ctx.json() ? job_json(*job) + '\n' : job_details(*job));
  return kOk;
}

}  // namespace pq_cli
