// The workloads: each one measures pq and its floor in turn, kRuns times, and fills in its rows of the report.
// One class, its members defined by workload: workloads.cpp (setup, W1, W2, memory), drain.cpp (W3, W5) and
// wakeup.cpp (W4).
#pragma once

#include <fmt/core.h>
#include <unistd.h>

#include <atomic>
#include <cstdint>
#include <map>
#include <mutex>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "bench.hpp"
#include "connection.hpp"
#include "floor.hpp"
#include "pq/pq.hpp"

namespace pq::bench {

// Where a run is, on stderr: one line rewritten in place on a terminal, a line per step in a log.
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

enum class HorizonHolder { none, snapshot, writer };

// One slice of a W6 run.
struct HorizonSlice {
  std::int64_t done;  // jobs whose handler started in the slice
  double p99_ms;      // of put → handler start
  std::int64_t dead_tuples;
  std::int64_t claim_index_bytes;
  std::int64_t autovacuums;  // of pq.jobs, begun in the slice: running at its end, or ended in it unseen
  std::int64_t checkpoints;  // of the server, ended in the slice
  double commit_p99_ms;      // of the commit probe: a one-row INSERT of its own, committed, 50 a second
  double commit_max_ms;
};

class Bench {
 public:
  Bench(std::string conninfo, Sizes sizes, const Settings& settings, fs::path scratch);
  ~Bench();
  Bench(const Bench&) = delete;
  auto operator=(const Bench&) -> Bench& = delete;

  auto run() -> std::vector<Row>;
  auto profile() -> ServerProfile;
  /// W6's per-slice table and claim plans, for after the report's table.
  [[nodiscard]] auto appendix() const -> const std::vector<std::string>& { return horizon_plans_; }

 private:
  void measured(const Row& row);

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

  void enqueue_one(Row& row);
  void enqueue_many(Row& row);
  void enqueue_concurrent(std::vector<Row>& rows);
  auto put_in_threads(int count) -> double;

  auto drain_with_worker(int concurrency, std::int64_t already_finished, int prefetch = WorkerOptions{}.prefetch)
      -> double;
  void fill_drain();
  void fill_floor(std::string_view schema = kFloor);
  auto floor_drain(const char* name, int clients, int batch) -> double;
  auto floor_delete_drain(const char* name, int clients) -> double;
  auto drain_transactional(pq::PQ& pq, const std::string& name, int count) -> double;
  void drain_transactional_in_turn(std::vector<Row>& rows);
  void drain_one_per_claim(std::vector<Row>& rows);
  void drain(std::vector<Row>& rows);
  void drain_crowded(std::vector<Row>& rows);

  void record_start(std::int64_t id);
  auto latencies(const std::map<std::int64_t, SteadyClock::time_point>& committed) -> std::vector<double>;
  auto wait_for_starts(std::size_t count) -> bool;
  template <class Put>
  auto put_spaced(Put&& put) -> std::map<std::int64_t, SteadyClock::time_point>;
  auto wake_pq() -> std::vector<double>;
  auto wake_floor() -> std::vector<double>;
  void wake_up(std::vector<Row>& rows);

  void memory(std::vector<Row>& rows);

  void horizon_started(const pq::Job& job);
  auto horizon_run(HorizonHolder kind) -> std::vector<HorizonSlice>;
  auto explain_claim(HorizonHolder kind) -> std::string;
  void held_horizon(std::vector<Row>& rows);

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
  std::mutex horizon_mutex_;
  std::vector<double> horizon_waits_;
  std::vector<double> horizon_commits_;  // the commit probe's, in ms
  std::int64_t horizon_done_ = 0;
  std::int64_t horizon_handled_ = 0;
  std::vector<std::string> horizon_plans_;
};

}  // namespace pq::bench
