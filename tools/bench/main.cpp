// pq-bench: measures pq's enqueue and drain throughput, wake-up latency and worker memory, and in the same run
// the floor that the same server reaches with the minimal equivalent SQL (pgbench scripts on a plain table of
// the same shape, or a bare libpq loop), so that the ratios stay meaningful on a shared, drifting machine.
#include <cxxopts.hpp>
#include <fcntl.h>
#include <fmt/core.h>
#include <fmt/format.h>
#include <poll.h>
#include <signal.h>
#include <sys/prctl.h>
#include <sys/wait.h>
#include <unistd.h>

#include <algorithm>
#include <array>
#include <atomic>
#include <cerrno>
#include <chrono>
#include <cmath>
#include <filesystem>
#include <fstream>
#include <functional>
#include <map>
#include <memory>
#include <mutex>
#include <optional>
#include <sstream>
#include <stdexcept>
#include <string>
#include <thread>
#include <vector>

#include "pg/handle.hpp"
#include "pq/pq.hpp"
#include "pq/testing.hpp"
#include "../cli.hpp"

namespace fs = std::filesystem;
using namespace std::chrono_literals;

namespace {

using SteadyClock = std::chrono::steady_clock;

constexpr int kRuns = 3;
constexpr int kBatch = 100;   // rows per statement of the batched drain floor
constexpr int kClients = 4;   // W3's concurrency, in pq and in pgbench alike
constexpr int kSlices = 10;   // turns of pq and the floor within a run of W1 and of W3's get(tx) drain
constexpr const char* kJob = R"({"args": []})";

// pq's schema and the floor's: dedicated, so that a run against --db never touches an application's jobs.
constexpr const char* kSchema = "pq_bench";
constexpr const char* kFloor = "pq_bench_floor";
// A copy of pq's table, with its constraints, indexes and storage options: what the floor's SQL costs there.
constexpr const char* kShaped = "pq_bench_shaped";

struct Sizes {
  int put_one = 10'000;       // W1
  int put_many = 100'000;     // W2
  int drain = 20'000;         // W3, W5, worker memory; a multiple of kBatch * kClients and kSlices * kClients
  int wakeups = 200;          // W4
  std::chrono::milliseconds wake_gap = 20ms;
  int background = 100'000;   // W5: future-scheduled jobs, and as many finished ones
};

constexpr Sizes kQuick{.put_one = 200, .put_many = 2'000, .drain = 400, .wakeups = 10, .wake_gap = 20ms,
                       .background = 1'000};

struct Settings {
  std::string db;
  bool quick = false;
  bool json = false;
  std::string svg;
  std::string worker;
  std::string plugin;
  std::vector<std::string> only;  // empty: every workload
  [[nodiscard]] auto wanted(std::string_view workload) const -> bool {
    return only.empty() || std::find(only.begin(), only.end(), workload) != only.end();
  }
};

/// A count that does not add up: pq-bench exits with status 1.
class Mismatch : public std::runtime_error {
  using std::runtime_error::runtime_error;
};

void expect_count(std::string_view what, std::int64_t got, std::int64_t want) {
  if (got != want) throw Mismatch(fmt::format("{}: counted {}, expected {}", what, got, want));
}

auto seconds_since(SteadyClock::time_point start) -> double {
  return std::chrono::duration<double>(SteadyClock::now() - start).count();
}

// pq and its floor take turns at going first, so that neither always finds the machine as the other left it
// (a checkpoint, caches, other tenants' load).
template <class Pq, class Floor>
void in_turn(int run, Pq&& pq, Floor&& floor) {
  if (run % 2 == 1) {
    pq();
    floor();
  } else {
    floor();
    pq();
  }
}

auto median(std::vector<double> values) -> double {
  if (values.empty()) return NAN;
  std::sort(values.begin(), values.end());
  return values[values.size() / 2];
}

// Nearest rank: the smallest sample that at least `fraction` of the samples do not exceed.
auto percentile(std::vector<double> values, double fraction) -> double {
  std::sort(values.begin(), values.end());
  auto rank = static_cast<std::size_t>(std::ceil(fraction * static_cast<double>(values.size())));
  return values[std::clamp<std::size_t>(rank, 1, values.size()) - 1];
}

// --- progress ---------------------------------------------------------------------------------------------

class Progress {
 public:
  Progress() : terminal_(::isatty(STDERR_FILENO) != 0) {}
  ~Progress() {
    if (terminal_ && shown_) fmt::print(stderr, "\n");
  }
  Progress(const Progress&) = delete;
  auto operator=(const Progress&) -> Progress& = delete;

  template <class... Args>
  void show(fmt::format_string<Args...> format, Args&&... args) {
    auto line = fmt::format(format, std::forward<Args>(args)...);
    if (terminal_) {
      fmt::print(stderr, "\r\033[K{}", line);  // one line, rewritten in place
    } else {
      fmt::print(stderr, "{}\n", line);
    }
    shown_ = true;
  }

 private:
  bool terminal_;
  bool shown_ = false;
};

// --- a bare libpq connection: the bench's own SQL, and the W4 floor's loop ------------------------------

class Connection {
 public:
  explicit Connection(const std::string& conninfo) : conn_(PQconnectdb(conninfo.c_str())) {
    if (!conn_ || PQstatus(conn_.get()) != CONNECTION_OK) {
      throw pq::Error(fmt::format("cannot connect: {}", conn_ ? PQerrorMessage(conn_.get()) : "out of memory"));
    }
  }

  /// Runs one or more statements without parameters; returns the last one's result.
  auto exec(const std::string& sql) -> pq::pg::ResultHandle { return check(PQexec(conn_.get(), sql.c_str())); }
  auto number(const std::string& sql) -> std::int64_t {
    auto result = exec(sql);
    return PQgetisnull(result.get(), 0, 0) != 0 ? 0 : std::stoll(PQgetvalue(result.get(), 0, 0));
  }
  void prepare(const std::string& name, const std::string& sql) {
    check(PQprepare(conn_.get(), name.c_str(), sql.c_str(), 0, nullptr));
  }
  auto run_prepared(const std::string& name) -> pq::pg::ResultHandle {
    return check(PQexecPrepared(conn_.get(), name.c_str(), 0, nullptr, nullptr, nullptr, 0));
  }
  [[nodiscard]] auto get() const noexcept -> PGconn* { return conn_.get(); }

 private:
  auto check(PGresult* raw) -> pq::pg::ResultHandle {
    pq::pg::ResultHandle result(raw);
    auto status = result ? PQresultStatus(result.get()) : PGRES_FATAL_ERROR;
    if (status != PGRES_COMMAND_OK && status != PGRES_TUPLES_OK) {
      throw pq::Error(fmt::format("bench statement failed: {}", PQerrorMessage(conn_.get())));
    }
    return result;
  }

  pq::pg::ConnHandle conn_;
};

// --- child processes ----------------------------------------------------------------------------------------

/// A program started with its output in a file; killed and reaped when destroyed before it exited, and killed
/// by the kernel if the bench dies first.
class Process {
 public:
  Process(const std::vector<std::string>& argv, const std::string& log) {
    std::vector<char*> args;
    for (const auto& arg : argv) args.push_back(const_cast<char*>(arg.c_str()));
    args.push_back(nullptr);
    pid_ = ::fork();
    if (pid_ < 0) throw pq::Error("fork() failed");
    if (pid_ == 0) {
      // Dies with the bench even when a signal ends it before this object's destructor could.
      ::prctl(PR_SET_PDEATHSIG, SIGKILL);
      int fd = ::open(log.c_str(), O_WRONLY | O_CREAT | O_TRUNC, 0644);
      if (fd >= 0) {
        ::dup2(fd, STDOUT_FILENO);
        ::dup2(fd, STDERR_FILENO);
      }
      ::execv(args[0], args.data());
      ::_exit(127);
    }
  }
  ~Process() {
    if (!status_) {
      ::kill(pid_, SIGKILL);
      wait(10s);
    }
  }
  Process(const Process&) = delete;
  auto operator=(const Process&) -> Process& = delete;

  [[nodiscard]] auto pid() const noexcept -> pid_t { return pid_; }
  void signal(int number) const { ::kill(pid_, number); }
  /// Blocks until the program exits; returns its exit code (128 + signal when killed). Blocking, not polling:
  /// pgbench measures the floor meanwhile, and a poll every few milliseconds would share the CPUs with it.
  auto wait() -> int {
    while (!status_) {
      int status = 0;
      if (::waitpid(pid_, &status, 0) == pid_) {
        status_ = WIFEXITED(status) ? WEXITSTATUS(status) : 128 + WTERMSIG(status);
      } else if (errno != EINTR) {
        throw pq::Error(fmt::format("waitpid({}) failed", pid_));
      }
    }
    return *status_;
  }
  /// The exit code (128 + signal when killed), or nullopt while it still runs after `timeout`.
  auto wait(std::chrono::milliseconds timeout) -> std::optional<int> {
    const auto deadline = SteadyClock::now() + timeout;
    while (!status_) {
      int status = 0;
      if (::waitpid(pid_, &status, WNOHANG) == pid_) {
        status_ = WIFEXITED(status) ? WEXITSTATUS(status) : 128 + WTERMSIG(status);
      } else if (SteadyClock::now() >= deadline) {
        break;
      } else {
        std::this_thread::sleep_for(5ms);
      }
    }
    return status_;
  }

 private:
  pid_t pid_ = -1;
  std::optional<int> status_;
};

auto read_file(const fs::path& path) -> std::string {
  std::ifstream in(path);
  std::stringstream text;
  text << in.rdbuf();
  return text.str();
}

// Resident set of a live process from /proc/PID/status, in MiB: "VmRSS" now, or "VmHWM" its peak so far.
auto memory_mib(pid_t pid, std::string_view field) -> double {
  std::istringstream status(read_file(fmt::format("/proc/{}/status", pid)));
  for (std::string line; std::getline(status, line);) {
    if (line.starts_with(field) && line.size() > field.size() && line[field.size()] == ':') {
      return std::stod(line.substr(field.size() + 1)) / 1024.0;  // the kernel reports kB
    }
  }
  throw pq::Error(fmt::format("no {} for process {}: has it exited?", field, pid));
}

/// pgbench from the PostgreSQL install, running scripts against the server; returns transactions per second
/// without the connection time.
class Pgbench {
 public:
  Pgbench(std::string conninfo, fs::path directory)
      : binary_(pq::testing::postgres_bindir() + "/pgbench"), conninfo_(std::move(conninfo)),
        directory_(std::move(directory)) {}

  auto run(const std::string& name, const std::string& script, int clients, int transactions) -> double {
    const auto file = directory_ / (name + ".sql");
    const auto log = directory_ / (name + ".log");
    std::ofstream(file) << script << "\n";
    Process pgbench({binary_, "-n", "-M", "prepared", "-f", file.string(), "-t", std::to_string(transactions),
                     "-c", std::to_string(clients), "-j", std::to_string(clients), conninfo_},
                    log.string());
    auto status = pgbench.wait();
    const auto output = read_file(log);
    if (status != 0) throw pq::Error(fmt::format("pgbench {} failed:\n{}", name, output));
    const auto processed = fmt::format("number of transactions actually processed: {}/{}",
                                       clients * transactions, clients * transactions);
    if (output.find(processed) == std::string::npos) {
      throw Mismatch(fmt::format("pgbench {} did not process every transaction:\n{}", name, output));
    }
    auto at = output.find("tps = ");
    if (at == std::string::npos) throw pq::Error(fmt::format("no tps in pgbench's output:\n{}", output));
    return std::stod(output.substr(at + 6));
  }

 private:
  std::string binary_;
  std::string conninfo_;
  fs::path directory_;
};

// --- the floor's SQL ------------------------------------------------------------------------------------------

// The columns of pq.jobs as sql/migrations/001_init.sql made them, with plain types, only the primary key and
// the one index a claim needs, no constraints, default fillfactor.
auto floor_table() -> std::string {
  return fmt::format(
      "DROP SCHEMA IF EXISTS {1} CASCADE; CREATE SCHEMA {1};"
      "CREATE TABLE {1}.jobs (id bigint GENERATED BY DEFAULT AS IDENTITY PRIMARY KEY,"
      " enqueued_at timestamptz NOT NULL DEFAULT now(), schedule_at timestamptz NOT NULL DEFAULT now(),"
      " expected_at timestamptz, attempted_at timestamptz, lease_until timestamptz, finished_at timestamptz,"
      " max_attempts integer NOT NULL DEFAULT 25, attempt integer NOT NULL DEFAULT 0,"
      " priority smallint NOT NULL DEFAULT 0, cancel_requested boolean NOT NULL DEFAULT false,"
      " state {0}.job_state NOT NULL DEFAULT 'available', queue text NOT NULL, kind text NOT NULL DEFAULT '',"
      " locked_by text, data jsonb NOT NULL, errors jsonb NOT NULL DEFAULT '[]');"
      "CREATE INDEX ON {1}.jobs (queue, priority, expected_at, id) WHERE state = 'available'",
      kSchema, kFloor);
}

// The columns pq's put writes, and the values it writes into them.
constexpr const char* kFloorColumns = "(queue, kind, data, priority, max_attempts, schedule_at, expected_at, state)";

auto floor_values(std::string_view queue) -> std::string {
  return fmt::format("'{}', 'noop', '{}', 0, 25, now(), NULL, 'available'", queue, kJob);
}

auto floor_insert(std::string_view queue) -> std::string {
  return fmt::format("INSERT INTO {}.jobs {} VALUES ({})", kFloor, kFloorColumns, floor_values(queue));
}

auto shaped_table() -> std::string {
  return fmt::format(
      "DROP SCHEMA IF EXISTS {1} CASCADE; CREATE SCHEMA {1};"
      "CREATE TABLE {1}.jobs (LIKE {0}.jobs INCLUDING ALL);"
      "DO $$ BEGIN EXECUTE format('ALTER TABLE {1}.jobs SET (%s)', (SELECT array_to_string(reloptions, ', ') "
      "FROM pg_class WHERE oid = '{0}.jobs'::regclass)); END $$",
      kSchema, kShaped);
}

auto floor_fill(std::string_view schema, std::string_view queue, int count) -> std::string {
  return fmt::format("INSERT INTO {}.jobs {} SELECT {} FROM generate_series(1, {})", schema, kFloorColumns,
                     floor_values(queue), count);
}

// available → completed for `limit` rows in dequeue order, as pq's take does, and in its cheapest shape: the
// locked rows found again by ctid, as in pq's take.sql and claim.sql (without their second run, for a race that
// the floor never meets). Joined on id instead, the batch of 100 got a hash join over a sequential scan and
// ran at a third of the speed.
auto floor_claim(std::string_view schema, std::string_view queue, int limit) -> std::string {
  return fmt::format(
      "UPDATE {0}.jobs AS job SET state = 'completed', attempt = job.attempt + 1, attempted_at = now(), "
      "finished_at = now() WHERE job.ctid = ANY (ARRAY(SELECT ctid FROM {0}.jobs WHERE state = 'available' "
      "AND queue = '{1}' ORDER BY priority, expected_at, id LIMIT {2} FOR UPDATE SKIP LOCKED)) RETURNING job.*",
      schema, queue, limit);
}

// --- the report -------------------------------------------------------------------------------------------------

struct Goal {
  enum class Kind { min_ratio, max_ratio, max_value };
  Kind kind;
  double limit;

  [[nodiscard]] auto text(std::string_view unit) const -> std::string {
    switch (kind) {
      case Kind::min_ratio:
        return fmt::format("ratio ≥ {:g}", limit);
      case Kind::max_ratio:
        return fmt::format("ratio ≤ {:g}", limit);
      case Kind::max_value:
        break;
    }
    return fmt::format("≤ {:g} {}", limit, unit);
  }
};

struct Row {
  std::string workload;
  std::string unit;  // jobs/s, ms or MiB
  std::string floor_name;  // empty: no floor
  std::vector<double> pq_runs;
  std::vector<double> floor_runs;
  std::vector<Goal> goals;

  [[nodiscard]] auto pq() const -> double { return median(pq_runs); }
  [[nodiscard]] auto floor() const -> double { return median(floor_runs); }
  [[nodiscard]] auto has_floor() const -> bool { return !floor_runs.empty(); }
  [[nodiscard]] auto ratio() const -> double { return has_floor() ? pq() / floor() : NAN; }
  [[nodiscard]] auto met(const Goal& goal) const -> bool {
    switch (goal.kind) {
      case Goal::Kind::min_ratio:
        return ratio() >= goal.limit;
      case Goal::Kind::max_ratio:
        return ratio() <= goal.limit;
      case Goal::Kind::max_value:
        break;
    }
    return pq() <= goal.limit;
  }
  [[nodiscard]] auto all_met() const -> bool {
    return std::all_of(goals.begin(), goals.end(), [&](const Goal& goal) { return met(goal); });
  }
};

auto value_text(double value, std::string_view unit) -> std::string {
  if (std::isnan(value)) return "–";
  if (unit == "jobs/s") return fmt::format("{:.0f} {}", value, unit);
  return fmt::format("{:.{}f} {}", value, unit == "ms" ? 2 : 1, unit);
}

void print_markdown(const std::vector<Row>& rows) {
  fmt::print("| workload | pq | floor | ratio | goal | met |\n| --- | ---: | ---: | ---: | --- | --- |\n");
  for (const auto& row : rows) {
    std::string goals;
    for (const auto& goal : row.goals) goals += (goals.empty() ? "" : ", ") + goal.text(row.unit);
    fmt::print("| {} | {} | {} | {} | {} | {} |\n", row.workload, value_text(row.pq(), row.unit),
               value_text(row.floor(), row.unit), row.has_floor() ? fmt::format("{:.2f}", row.ratio()) : "–",
               goals.empty() ? "–" : goals, row.goals.empty() ? "–" : row.all_met() ? "yes" : "**no**");
  }
  fmt::print("\nFloors:\n");
  for (const auto& row : rows) {
    if (row.has_floor()) fmt::print("- {}: {}\n", row.workload, row.floor_name);
  }
}

void print_json(const std::vector<Row>& rows, const Sizes& sizes) {
  pq::JsonWriter out;
  auto numbers = [&](const std::vector<double>& values) {
    out.begin_array();
    for (double value : values) out.number(value);
    out.end_array();
  };
  out.begin_object();
  out.key("sizes");
  out.begin_object();
  const std::pair<const char*, int> counts[] = {{"put_one", sizes.put_one}, {"put_many", sizes.put_many},
                                                {"drain", sizes.drain}, {"wakeups", sizes.wakeups},
                                                {"background", sizes.background}};
  for (const auto& [name, value] : counts) {
    out.key(name);
    out.integer(value);
  }
  out.end_object();
  out.key("workloads");
  out.begin_array();
  for (const auto& row : rows) {
    out.begin_object();
    out.key("workload");
    out.string(row.workload);
    out.key("unit");
    out.string(row.unit);
    out.key("pq");
    out.number(row.pq());
    out.key("pq_runs");
    numbers(row.pq_runs);
    if (row.has_floor()) {
      out.key("floor");
      out.number(row.floor());
      out.key("floor_runs");
      numbers(row.floor_runs);
      out.key("floor_is");
      out.string(row.floor_name);
      out.key("ratio");
      out.number(row.ratio());
    }
    out.key("goals");
    out.begin_array();
    for (const auto& goal : row.goals) {
      out.begin_object();
      out.key("goal");
      out.string(goal.text(row.unit));
      out.key("met");
      out.boolean(row.met(goal));
      out.end_object();
    }
    out.end_array();
    out.end_object();
  }
  out.end_array();
  out.end_object();
  fmt::print("{}\n", out.str());
}

auto xml_escape(std::string_view text) -> std::string {
  std::string out;
  for (char c : text) {
    switch (c) {
      case '&': out += "&amp;"; break;
      case '<': out += "&lt;"; break;
      case '>': out += "&gt;"; break;
      default: out += c;
    }
  }
  return out;
}

// Horizontal bars, pq over its floor, each pair scaled to its own larger value (units differ per workload).
void write_svg(const std::vector<Row>& rows, const std::string& path) {
  constexpr int kWidth = 900, kLabel = 290, kBars = 430, kBar = 16, kPair = 52, kTop = 56;
  std::vector<const Row*> shown;
  for (const auto& row : rows) {
    if (row.has_floor()) shown.push_back(&row);
  }
  const int height = kTop + static_cast<int>(shown.size()) * kPair + 16;
  std::string svg = fmt::format(
      "<svg xmlns=\"http://www.w3.org/2000/svg\" width=\"{0}\" height=\"{1}\" viewBox=\"0 0 {0} {1}\" "
      "font-family=\"sans-serif\" font-size=\"12\">\n<rect width=\"100%\" height=\"100%\" fill=\"white\"/>\n"
      "<text x=\"12\" y=\"22\" font-size=\"15\" font-weight=\"bold\">pq against the floor (median of {2} runs)"
      "</text>\n<rect x=\"{3}\" y=\"32\" width=\"12\" height=\"12\" fill=\"#2f6db5\"/>"
      "<text x=\"{4}\" y=\"42\">pq</text>\n<rect x=\"{5}\" y=\"32\" width=\"12\" height=\"12\" fill=\"#b0b0b0\"/>"
      "<text x=\"{6}\" y=\"42\">floor (pgbench, bare libpq; for W5, the plain W3 drain)</text>\n",
      kWidth, height, kRuns, kLabel, kLabel + 16, kLabel + 60, kLabel + 76);
  for (std::size_t i = 0; i < shown.size(); ++i) {
    const auto& row = *shown[i];
    const int y = kTop + static_cast<int>(i) * kPair;
    const double scale = std::max(row.pq(), row.floor());
    auto bar = [&](double value, int at, const char* colour) {
      const int width = scale > 0 ? static_cast<int>(std::lround(value / scale * kBars)) : 0;
      svg += fmt::format("<rect x=\"{}\" y=\"{}\" width=\"{}\" height=\"{}\" fill=\"{}\"/>", kLabel, at,
                         std::max(width, 1), kBar, colour);
      svg += fmt::format("<text x=\"{}\" y=\"{}\">{}</text>\n", kLabel + std::max(width, 1) + 6, at + 12,
                         xml_escape(value_text(value, row.unit)));
    };
    svg += fmt::format("<text x=\"12\" y=\"{}\">{}</text>", y + 14, xml_escape(row.workload));
    svg += fmt::format("<text x=\"12\" y=\"{}\" fill=\"#555\">ratio {:.2f}{}</text>\n", y + 31, row.ratio(),
                       row.unit == "ms" ? ", lower is better" : "");
    bar(row.pq(), y, "#2f6db5");
    bar(row.floor(), y + kBar + 2, "#b0b0b0");
  }
  svg += "</svg>\n";
  std::ofstream out(path);
  out << svg;
  if (!out) throw pq::Error(fmt::format("cannot write {}", path));
}

// --- the workloads ------------------------------------------------------------------------------------------------

class Bench {
 public:
  Bench(std::string conninfo, Sizes sizes, const Settings& settings, fs::path scratch)
      : conninfo_(std::move(conninfo)),
        sizes_(sizes),
        settings_(settings),
        scratch_(std::move(scratch)),
        admin_(conninfo_),
        pgbench_(conninfo_, scratch_) {
    admin_.exec(fmt::format("SET client_min_messages = warning; DROP SCHEMA IF EXISTS {} CASCADE", kSchema));
    pq_.emplace(conninfo_, pq::ConnectionOptions{.schema = kSchema});
    pq_->create();
    admin_.exec(floor_table());
    admin_.exec(shaped_table());
    (*pq_)["drain"].task("noop", [this] { ++handled_; });
    (*pq_)["wake"].task("noop", [this](pq::Context& context) { record_start(context.job().id); });
  }
  ~Bench() {
    try {
      admin_.exec(fmt::format("DROP SCHEMA IF EXISTS {} CASCADE; DROP SCHEMA IF EXISTS {} CASCADE; "
                              "DROP SCHEMA IF EXISTS {} CASCADE",
                              kShaped, kFloor, kSchema));
    } catch (const std::exception&) {
      // The schemas are the bench's own; leaving them behind after a failure harms nothing.
    }
  }
  Bench(const Bench&) = delete;
  auto operator=(const Bench&) -> Bench& = delete;

  auto run() -> std::vector<Row> {
    std::vector<Row> rows;
    if (settings_.wanted("W1")) {
      enqueue_one(rows.emplace_back(Row{"W1 enqueue, 1 job/tx", "jobs/s", "pgbench, one INSERT per transaction, 1 client",
                                        {}, {}, {{Goal::Kind::min_ratio, 0.85}}}));
    }
    if (settings_.wanted("W2")) {
      enqueue_many(rows.emplace_back(Row{"W2 put_many", "jobs/s", "pgbench, one INSERT … SELECT FROM generate_series",
                                         {}, {}, {{Goal::Kind::min_ratio, 0.5}}}));
    }
    if (settings_.wanted("W3")) drain(rows);
    if (settings_.wanted("W4")) wake_up(rows);
    if (settings_.wanted("W5")) drain_crowded(rows);
    if (settings_.wanted("memory")) memory(rows);
    progress_.show("done");
    return rows;
  }

 private:
  // The figures of a run just measured, on the progress line.
  void measured(const Row& row) {
    progress_.show("  {}: pq {}{}", row.workload, value_text(row.pq_runs.back(), row.unit),
                   row.floor_runs.size() >= row.pq_runs.size()
                       ? fmt::format(", floor {}", value_text(row.floor_runs[row.pq_runs.size() - 1], row.unit))
                       : "");
  }

  auto queue(const char* name) -> pq::Queue { return (*pq_)[name]; }
  auto table(std::string_view schema) const -> std::string { return fmt::format("{}.jobs", schema); }
  void truncate(std::string_view schema) { admin_.exec(fmt::format("TRUNCATE {}", table(schema))); }
  // Fresh statistics and visibility map, so that pq and the floor start each drain from the same state.
  void settle(std::string_view schema) { admin_.exec(fmt::format("VACUUM (ANALYZE) {}", table(schema))); }
  auto count(std::string_view schema, std::string_view where) -> std::int64_t {
    return admin_.number(fmt::format("SELECT count(*) FROM {} WHERE {}", table(schema), where));
  }

  auto put_jobs(const char* name, int count, const pq::PutOptions& options = {.kind = "noop"})
      -> std::vector<std::int64_t> {
    const std::vector<std::string> jobs(static_cast<std::size_t>(count), kJob);
    return queue(name).put_many(jobs, options);
  }

  // One client's round trips dominate W1, and on a shared virtual machine their time flips between two
  // levels (20 and 80 us here) from one second to the next. So each run puts its jobs in slices, pq's and the
  // floor's in turn, and both see the same mix of fast and slow seconds.
  void enqueue_one(Row& row) {
    const int n = sizes_.put_one;
    const int slice = std::max(1, n / kSlices);
    auto put = queue("put");
    for (int run = 1; run <= kRuns; ++run) {
      progress_.show("W1 enqueue {} jobs, one per transaction: run {}/{}", n, run, kRuns);
      truncate(kSchema);
      truncate(kFloor);
      double pq_seconds = 0;
      double floor_seconds = 0;
      for (int done = 0, turn = run; done < n; done += slice, ++turn) {
        const int count = std::min(slice, n - done);
        in_turn(
            turn,
            [&] {
              const auto start = SteadyClock::now();
              for (int i = 0; i < count; ++i) put.put(kJob, {.kind = "noop"});
              pq_seconds += seconds_since(start);
            },
            [&] { floor_seconds += count / pgbench_.run("w1", floor_insert("put") + ";", 1, count); });
      }
      row.pq_runs.push_back(n / pq_seconds);
      row.floor_runs.push_back(n / floor_seconds);
      expect_count("W1 jobs in pq's table", count(kSchema, "queue = 'put'"), n);
      expect_count("W1 rows in the floor's table", count(kFloor, "true"), n);
      measured(row);
    }
  }

  void enqueue_many(Row& row) {
    const int n = sizes_.put_many;
    for (int run = 1; run <= kRuns; ++run) {
      progress_.show("W2 put_many {} jobs: run {}/{}", n, run, kRuns);
      in_turn(
          run,
          [&] {
            truncate(kSchema);
            const std::vector<std::string> jobs(static_cast<std::size_t>(n), kJob);
            auto bulk = queue("bulk");
            const auto start = SteadyClock::now();
            auto ids = bulk.put_many(jobs, {.kind = "noop"});
            row.pq_runs.push_back(n / seconds_since(start));
            expect_count("W2 ids returned", static_cast<std::int64_t>(ids.size()), n);
            expect_count("W2 jobs in pq's table", count(kSchema, "queue = 'bulk'"), n);
          },
          [&] {
            truncate(kFloor);
            row.floor_runs.push_back(n * pgbench_.run("w2", floor_fill(kFloor, "bulk", n) + ";", 1, 1));
            expect_count("W2 rows in the floor's table", count(kFloor, "true"), n);
          });
      measured(row);
    }
  }

  // Drains the drain queue through a worker and returns the rate. The time runs from run()'s start to its
  // return, after the last completion is written: it includes the worker's start (two connections) and stop,
  // a few milliseconds, where pgbench's rates exclude their connections. The database's now() cannot time it:
  // it is when a statement starts, and the last completions may be one long statement.
  auto drain_with_worker(int concurrency, std::int64_t already_finished) -> double {
    handled_ = 0;
    pq::Worker worker(*pq_, {.queues = {"drain"}, .concurrency = concurrency, .burst = true,
                             .handle_signals = false, .log = pq::stderr_log(pq::LogLevel::warning)});
    const auto start = SteadyClock::now();
    worker.run();
    const double rate = sizes_.drain / seconds_since(start);
    const int n = sizes_.drain;
    expect_count("jobs run by the worker", handled_.load(), n);
    expect_count("completions the worker counted", worker.stats().completed, n);
    expect_count("completed jobs in pq's table", count(kSchema, "queue = 'drain' AND state = 'completed'"),
                 n + already_finished);
    return rate;
  }

  void fill_drain() {
    truncate(kSchema);
    put_jobs("drain", sizes_.drain);
    settle(kSchema);
  }

  void fill_floor(std::string_view schema = kFloor) {
    truncate(schema);
    admin_.exec(floor_fill(schema, "drain", sizes_.drain));
    settle(schema);
  }

  auto floor_drain(const char* name, int clients, int batch) -> double {
    const int n = sizes_.drain;
    fill_floor();
    const auto script = floor_claim(kFloor, "drain", batch) + ";";
    const double rate = batch * pgbench_.run(name, script, clients, n / batch / clients);
    expect_count("drained rows in the floor's table", count(kFloor, "state = 'completed'"), n);
    return rate;
  }

  // Takes `count` jobs in kClients threads, a transaction each; returns the seconds it took.
  auto drain_transactional(int count) -> double {
    std::atomic<int> budget{count};
    std::atomic<int> missing{0};
    const auto start = SteadyClock::now();
    std::vector<std::thread> threads;
    for (int i = 0; i < kClients; ++i) {
      threads.emplace_back([&] {
        auto drain = queue("drain");
        while (budget.fetch_sub(1) > 0) {
          auto tx = pq_->begin();
          if (!drain.get(tx, 0s)) {
            ++missing;
            break;
          }
          tx.commit();
        }
      });
    }
    for (auto& thread : threads) thread.join();
    const double seconds = seconds_since(start);
    expect_count("takes by get(tx) that found no job", missing.load(), 0);
    return seconds;
  }

  struct TransactionalRates {
    double pq = 0;
    double floor = 0;
    double shaped = 0;  // the floor's script on a copy of pq's table
  };

  // Four clients' one-row transactions are as much at the mercy of the machine's fast and slow seconds as
  // W1's (see enqueue_one): pq, the floor and the floor's script on pq's table shape drain the same jobs in
  // slices, taking turns at going first.
  auto drain_transactional_in_turn(int run) -> TransactionalRates {
    const int n = sizes_.drain;
    const int slice = n / kSlices;
    fill_drain();
    fill_floor(kFloor);
    fill_floor(kShaped);
    {
      // Open the connections first, so that the time is the drain's alone.
      std::vector<pq::Transaction> warm;
      for (int i = 0; i < kClients; ++i) warm.push_back(pq_->begin());
    }
    // A transactional get is BEGIN, the claim, COMMIT: the floor spends the same three statements.
    auto script = [](std::string_view schema) { return "BEGIN;\n" + floor_claim(schema, "drain", 1) + ";\nCOMMIT;"; };
    const std::string floor_script = script(kFloor);
    const std::string shaped_script = script(kShaped);
    std::array<double, 3> seconds{};
    const std::array<std::function<void()>, 3> turns{
        [&] { seconds[0] += drain_transactional(slice); },
        [&] { seconds[1] += slice / pgbench_.run("w3-one", floor_script, kClients, slice / kClients); },
        [&] { seconds[2] += slice / pgbench_.run("w3-shaped", shaped_script, kClients, slice / kClients); }};
    for (int done = 0, turn = run; done < n; done += slice, ++turn) {
      for (int i = 0; i < 3; ++i) turns[(turn + i) % 3]();
    }
    expect_count("completed jobs in pq's table", count(kSchema, "queue = 'drain' AND state = 'completed'"), n);
    expect_count("drained rows in the floor's table", count(kFloor, "state = 'completed'"), n);
    expect_count("drained rows in the copy of pq's table", count(kShaped, "state = 'completed'"), n);
    return {n / seconds[0], n / seconds[1], n / seconds[2]};
  }

  void drain(std::vector<Row>& rows) {
    const int n = sizes_.drain;
    Row one{"W3 drain, Worker c1", "jobs/s", fmt::format("pgbench, claim-and-complete {} rows per statement, 1 client", kBatch),
            {}, {}, {}};
    Row four{"W3 drain, Worker c4", "jobs/s", "", {}, {}, {{Goal::Kind::min_ratio, 0.6}}};
    Row tx{"W3 drain, get(tx) in 4 threads", "jobs/s",
           "pgbench, BEGIN; claim-and-complete 1 row; COMMIT, 4 clients", {}, {}, {{Goal::Kind::min_ratio, 0.8}}};
    Row shaped{"W3 get(tx), floor on pq's table", "jobs/s",
               "the same pgbench script on a copy of pq's table, with its constraints and indexes", {}, {}, {}};
    std::vector<double> batched_four;
    for (int run = 1; run <= kRuns; ++run) {
      progress_.show("W3 drain {} jobs, Worker c1: run {}/{}", n, run, kRuns);
      in_turn(
          run, [&] {
            fill_drain();
            one.pq_runs.push_back(drain_with_worker(1, 0));
          },
          [&] { one.floor_runs.push_back(floor_drain("w3-batch-c1", 1, kBatch)); });
      measured(one);

      progress_.show("W3 drain {} jobs, Worker c4: run {}/{}", n, run, kRuns);
      in_turn(
          run, [&] {
            fill_drain();
            four.pq_runs.push_back(drain_with_worker(kClients, 0));
          },
          [&] { batched_four.push_back(floor_drain("w3-batch-c4", kClients, kBatch)); });
      four.floor_runs = batched_four;
      measured(four);

      progress_.show("W3 drain {} jobs, get(tx) in {} threads: run {}/{}", n, kClients, run, kRuns);
      const auto rates = drain_transactional_in_turn(run);
      tx.pq_runs.push_back(rates.pq);
      tx.floor_runs.push_back(rates.floor);
      shaped.pq_runs.push_back(rates.pq);
      shaped.floor_runs.push_back(rates.shaped);
      measured(tx);
      measured(shaped);
    }
    // The best batched floor, whichever client count reaches it.
    const bool four_is_best = median(batched_four) >= one.floor();
    four.floor_runs = four_is_best ? batched_four : one.floor_runs;
    four.floor_name = fmt::format("pgbench, claim-and-complete {} rows per statement, {} (the best batched floor)",
                                  kBatch, four_is_best ? "4 clients" : "1 client");
    rows.push_back(std::move(one));
    rows.push_back(std::move(four));
    rows.push_back(std::move(tx));
    rows.push_back(std::move(shaped));
  }

  void drain_crowded(std::vector<Row>& rows) {
    const int n = sizes_.drain;
    const int background = sizes_.background;
    // The yardstick is W3's drain at concurrency 4 measured again here, in turn with this one, so that both
    // meet the same machine.
    const auto jobs = background % 1000 == 0 ? fmt::format("{}k", background / 1000) : std::to_string(background);
    Row row{fmt::format("W5 drain c4, {} future + {} finished", jobs, jobs), "jobs/s",
            "pq's W3 drain, Worker c4, run in turn with it", {}, {}, {{Goal::Kind::min_ratio, 0.8}}};
    for (int run = 1; run <= kRuns; ++run) {
      progress_.show("W5 drain {} jobs among {} future and {} finished ones: run {}/{}", n, background, background,
                     run, kRuns);
      in_turn(
          run,
          [&] {
            truncate(kSchema);
            put_jobs("drain", background, {.schedule_at = 24h, .kind = "noop"});
            admin_.exec(fmt::format(
                "INSERT INTO {} (queue, kind, data, state, attempt, finished_at) "
                "SELECT 'drain', 'noop', '{}', 'completed', 1, now() - interval '1 hour' FROM generate_series(1, {})",
                table(kSchema), kJob, background));
            put_jobs("drain", n);
            settle(kSchema);
            row.pq_runs.push_back(drain_with_worker(kClients, background));
            expect_count("future jobs left alone", count(kSchema, "queue = 'drain' AND state = 'scheduled'"),
                         background);
          },
          [&] {
            fill_drain();
            row.floor_runs.push_back(drain_with_worker(kClients, 0));
          });
      measured(row);
    }
    rows.push_back(std::move(row));
  }

  // --- W4 ---

  void record_start(std::int64_t id) {
    const auto now = SteadyClock::now();
    std::lock_guard lock(wake_mutex_);
    started_[id].push_back(now);
  }

  // Latencies in ms from each put's commit (when it returned) to the start of its job.
  auto latencies(const std::map<std::int64_t, SteadyClock::time_point>& committed) -> std::vector<double> {
    std::lock_guard lock(wake_mutex_);
    std::vector<double> out;
    for (const auto& [id, at] : committed) {
      auto started = started_.find(id);
      expect_count(fmt::format("starts of job {}", id), started == started_.end() ? 0 : static_cast<std::int64_t>(started->second.size()), 1);
      out.push_back(std::chrono::duration<double, std::milli>(started->second.front() - at).count());
    }
    return out;
  }

  auto wait_for_starts(std::size_t count) -> bool {
    const auto deadline = SteadyClock::now() + 30s;
    while (SteadyClock::now() < deadline) {
      {
        std::lock_guard lock(wake_mutex_);
        if (started_.size() >= count) return true;
      }
      std::this_thread::sleep_for(1ms);
    }
    return false;
  }

  // Puts jobs `gap` apart with `put`, which returns the job's id once its transaction committed.
  template <class Put>
  auto put_spaced(Put&& put) -> std::map<std::int64_t, SteadyClock::time_point> {
    std::map<std::int64_t, SteadyClock::time_point> committed;
    auto next = SteadyClock::now();
    for (int i = 0; i < sizes_.wakeups; ++i) {
      next += sizes_.wake_gap;
      std::this_thread::sleep_until(next);
      const auto id = put();
      committed.emplace(id, SteadyClock::now());
    }
    return committed;
  }

  auto wake_pq() -> std::vector<double> {
    truncate(kSchema);
    {
      std::lock_guard lock(wake_mutex_);
      started_.clear();
    }
    pq::Worker worker(*pq_, {.queues = {"wake"}, .concurrency = kClients, .handle_signals = false,
                             .log = pq::stderr_log(pq::LogLevel::warning)});
    std::thread running([&] { worker.run(); });
    auto wake = queue("wake");
    // A first job proves the worker is up and listening; the measured ones find it idle.
    wake.put(kJob, {.kind = "noop"});
    const bool up = wait_for_starts(1);
    std::map<std::int64_t, SteadyClock::time_point> committed;
    if (up) {
      {
        std::lock_guard lock(wake_mutex_);
        started_.clear();
      }
      committed = put_spaced([&] { return wake.put(kJob, {.kind = "noop"}); });
      wait_for_starts(committed.size());
    }
    worker.stop();
    running.join();
    if (!up) throw Mismatch("W4: the worker never ran the first job");
    return latencies(committed);
  }

  auto wake_floor() -> std::vector<double> {
    truncate(kFloor);
    {
      std::lock_guard lock(wake_mutex_);
      started_.clear();
    }
    Connection listener(conninfo_);
    listener.exec(fmt::format("LISTEN {}", kFloor));
    listener.prepare("claim", floor_claim(kFloor, "wake", 1));
    std::atomic<bool> stop{false};
    std::thread loop([&] {
      while (!stop) {
        pollfd socket{PQsocket(listener.get()), POLLIN, 0};
        if (::poll(&socket, 1, 50) <= 0) continue;
        if (PQconsumeInput(listener.get()) == 0) break;
        bool woken = false;
        while (pq::pg::NotifyHandle notify{PQnotifies(listener.get())}) woken = true;
        for (bool more = woken; more;) {
          auto claimed = listener.run_prepared("claim");
          more = PQntuples(claimed.get()) > 0;
          if (more) record_start(std::stoll(PQgetvalue(claimed.get(), 0, 0)));
        }
      }
    });
    Connection producer(conninfo_);
    producer.prepare("put", fmt::format("WITH job AS ({} RETURNING id) SELECT id, pg_notify('{}', 'wake') FROM job",
                                        floor_insert("wake"), kFloor));
    auto committed =
        put_spaced([&] { return std::stoll(PQgetvalue(producer.run_prepared("put").get(), 0, 0)); });
    wait_for_starts(committed.size());
    stop = true;
    loop.join();
    return latencies(committed);
  }

  void wake_up(std::vector<Row>& rows) {
    Row p50{"W4 wake-up p50", "ms", "bare libpq: LISTEN, wait on the socket, claim one row", {}, {},
            {{Goal::Kind::max_value, 1.5}}};
    Row p99{"W4 wake-up p99", "ms", p50.floor_name, {}, {}, {{Goal::Kind::max_value, 4}, {Goal::Kind::max_ratio, 1.5}}};
    for (int run = 1; run <= kRuns; ++run) {
      progress_.show("W4 wake-up, {} jobs {} ms apart: run {}/{}", sizes_.wakeups, sizes_.wake_gap.count(), run, kRuns);
      std::vector<double> mine, floor;
      in_turn(run, [&] { mine = wake_pq(); }, [&] { floor = wake_floor(); });
      p50.pq_runs.push_back(percentile(mine, 0.5));
      p99.pq_runs.push_back(percentile(mine, 0.99));
      p50.floor_runs.push_back(percentile(floor, 0.5));
      p99.floor_runs.push_back(percentile(floor, 0.99));
      measured(p50);
      measured(p99);
    }
    rows.push_back(std::move(p50));
    rows.push_back(std::move(p99));
  }

  // --- memory of a real pq-worker process ---

  void memory(std::vector<Row>& rows) {
    Row idle{"pq-worker RSS, idle", "MiB", "", {}, {}, {{Goal::Kind::max_value, 16}}};
    Row busy{"pq-worker RSS peak, W3 drain c4", "MiB", "", {}, {}, {{Goal::Kind::max_value, 64}}};
    const int n = sizes_.drain;
    for (int run = 1; run <= kRuns; ++run) {
      progress_.show("pq-worker memory, idle then draining {} jobs: run {}/{}", n, run, kRuns);
      truncate(kSchema);
      Process worker({settings_.worker, "--db", conninfo_, "--schema", kSchema, "--queues", "q", "--concurrency",
                      std::to_string(kClients), "--plugin", settings_.plugin, "--quiet"},
                     (scratch_ / "pq-worker.log").string());
      std::this_thread::sleep_for(1s);
      if (worker.wait(0ms)) throw pq::Error(fmt::format("pq-worker exited:\n{}", read_file(scratch_ / "pq-worker.log")));
      idle.pq_runs.push_back(memory_mib(worker.pid(), "VmHWM"));
      put_jobs("q", n);
      const auto deadline = SteadyClock::now() + 10min;
      while (count(kSchema, "queue = 'q' AND state = 'completed'") < n && SteadyClock::now() < deadline) {
        std::this_thread::sleep_for(20ms);
      }
      busy.pq_runs.push_back(memory_mib(worker.pid(), "VmHWM"));
      expect_count("jobs pq-worker completed", count(kSchema, "queue = 'q' AND state = 'completed'"), n);
      worker.signal(SIGTERM);
      expect_count("pq-worker's exit status", worker.wait(60s).value_or(-1), 0);
      measured(idle);
      measured(busy);
    }
    rows.push_back(std::move(idle));
    rows.push_back(std::move(busy));
  }

  std::string conninfo_;
  Sizes sizes_;
  const Settings& settings_;
  fs::path scratch_;
  Connection admin_;
  Pgbench pgbench_;
  std::optional<pq::PQ> pq_;
  Progress progress_;
  std::atomic<std::int64_t> handled_{0};
  std::mutex wake_mutex_;
  std::map<std::int64_t, std::vector<SteadyClock::time_point>> started_;
};

// --- main ---------------------------------------------------------------------------------------------------------

auto beside_me(const char* name) -> std::string {
  return (fs::read_symlink("/proc/self/exe").parent_path() / name).string();
}

auto parse(int argc, char** argv) -> std::optional<Settings> {
  cxxopts::Options options("pq-bench", "Measures pq against the floor of the same PostgreSQL server.");
  options.add_options()
      ("db", "connection string; default: a throwaway PostgreSQL", cxxopts::value<std::string>())
      ("quick", "tiny sizes: checks that every workload runs and counts right, measures nothing useful")
      ("json", "print the results as JSON instead of a markdown table")
      ("svg", "write a bar chart of pq against the floor to FILE", cxxopts::value<std::string>())
      ("worker", "the pq-worker binary (default: beside pq-bench)", cxxopts::value<std::string>())
      ("plugin", "the no-op plugin for pq-worker (default: beside pq-bench)", cxxopts::value<std::string>())
      ("only", "comma-separated workloads to run: W1,W2,W3,W4,W5,memory (default: all)",
       cxxopts::value<std::vector<std::string>>())
      ("h,help", "show this help");
  auto parsed = options.parse(argc, argv);
  if (parsed.count("help") != 0U) {
    fmt::print("{}", options.help());
    return std::nullopt;
  }
  if (!parsed.unmatched().empty()) throw pq::UsageError(fmt::format("unexpected argument '{}'", parsed.unmatched().front()));
  Settings settings;
  if (parsed.count("db") != 0U) settings.db = parsed["db"].as<std::string>();
  if (parsed.count("svg") != 0U) settings.svg = parsed["svg"].as<std::string>();
  if (parsed.count("only") != 0U) settings.only = parsed["only"].as<std::vector<std::string>>();
  settings.quick = parsed.count("quick") != 0U;
  settings.json = parsed.count("json") != 0U;
  settings.worker = parsed.count("worker") != 0U ? parsed["worker"].as<std::string>() : beside_me("pq-worker");
  settings.plugin =
      parsed.count("plugin") != 0U ? parsed["plugin"].as<std::string>() : beside_me("libpq-bench-noop.so");
  for (const auto& file : {settings.worker, settings.plugin}) {
    if (!fs::exists(file)) throw pq::UsageError(fmt::format("{} does not exist: build it, or name it", file));
  }
  return settings;
}

/// A temporary directory for pgbench's scripts and the children's logs, removed at the end.
class Scratch {
 public:
  Scratch() {
    std::string pattern = (fs::temp_directory_path() / "pq-bench-XXXXXX").string();
    if (::mkdtemp(pattern.data()) == nullptr) throw pq::Error("cannot create a temporary directory");
    path_ = pattern;
  }
  ~Scratch() {
    std::error_code ignored;
    fs::remove_all(path_, ignored);
  }
  Scratch(const Scratch&) = delete;
  auto operator=(const Scratch&) -> Scratch& = delete;
  [[nodiscard]] auto path() const -> const fs::path& { return path_; }

 private:
  fs::path path_;
};

auto run(const Settings& settings) -> int {
  const auto database = pq::tools::given_or_throwaway(settings.db);
  const Sizes sizes = settings.quick ? kQuick : Sizes{};
  Scratch scratch;
  std::vector<Row> rows;
  {
    Bench bench(database.url, sizes, settings, scratch.path());
    rows = bench.run();
  }
  if (settings.json) {
    print_json(rows, sizes);
  } else {
    print_markdown(rows);
  }
  if (!settings.svg.empty()) write_svg(rows, settings.svg);
  return 0;
}

}  // namespace

auto main(int argc, char** argv) -> int {
  return pq::tools::guarded_main("pq-bench", [&] {
    try {
      auto settings = parse(argc, argv);
      return settings ? run(*settings) : 0;
    } catch (const Mismatch& error) {
      fmt::print(stderr, "pq-bench: count mismatch: {}\n", error.what());
      return 1;
    }
  });
}
