// What pq-bench's parts share: the sizes and settings of a run, the row a workload fills in with its runs and
// its floor's, and the goals the report checks it against.
#pragma once

#include <fmt/core.h>

#include <algorithm>
#include <chrono>
#include <cmath>
#include <cstdint>
#include <filesystem>
#include <stdexcept>
#include <string>
#include <string_view>
#include <vector>

namespace pq::bench {

namespace fs = std::filesystem;
using namespace std::chrono_literals;

using SteadyClock = std::chrono::steady_clock;

inline constexpr int kRuns = 3;
inline constexpr int kBatch = 100;   // rows per statement of the batched drain floor
inline constexpr int kClients = 4;   // W3's concurrency, in pq and in pgbench alike
inline constexpr int kProducers = 8;  // W1c's threads, and pgbench's clients for its floor
inline constexpr int kSlices = 10;   // turns of pq and the floor within a run of W1 and of W3's get(tx) drain
inline constexpr const char* kJob = R"({"args": []})";

// pq's schema and the floor's: dedicated, so that a run against --db never touches an application's jobs.
inline constexpr const char* kSchema = "pq_bench";
inline constexpr const char* kFloor = "pq_bench_floor";
// A copy of pq's table, with its constraints, indexes and storage options: what the floor's SQL costs there.
inline constexpr const char* kShaped = "pq_bench_shaped";

struct Sizes {
  int put_one = 10'000;       // W1
  int producers = 20'000;     // W1c: a multiple of kProducers
  int put_many = 100'000;     // W2
  int drain = 20'000;         // W3, W5, worker memory; a multiple of kBatch * kClients and kSlices * kClients
  int wakeups = 200;          // W4
  std::chrono::milliseconds wake_gap = 20ms;
  int background = 100'000;   // W5: future-scheduled jobs, and as many finished ones
};

inline constexpr Sizes kQuick{.put_one = 200, .producers = 400, .put_many = 2'000, .drain = 400, .wakeups = 10, .wake_gap = 20ms,
                              .background = 1'000};

struct Settings {
  std::string db;
  std::string profile = "durable";  // the throwaway server's; with db, whatever that server has
  bool quick = false;
  bool json = false;
  std::string svg;
  std::string worker;
  std::string plugin;
  std::vector<std::string> only;  // empty: every workload
  [[nodiscard]] auto named(std::string_view workload) const -> bool {
    return std::find(only.begin(), only.end(), workload) != only.end();
  }
  [[nodiscard]] auto wanted(std::string_view workload) const -> bool { return only.empty() || named(workload); }
};

/// The durability settings of the server measured, as it reports them: which profile a table is for.
struct ServerProfile {
  std::string fsync;
  std::string synchronous_commit;
  std::string full_page_writes;
  std::string version;
  [[nodiscard]] auto name() const -> std::string {
    if (fsync == "on" && synchronous_commit == "on" && full_page_writes == "on") return "durable";
    if (fsync == "off" && synchronous_commit == "off") return "fast";
    return "mixed";
  }
};

/// A count that does not add up: pq-bench exits with status 1.
class Mismatch : public std::runtime_error {
  using std::runtime_error::runtime_error;
};

inline void expect_count(std::string_view what, std::int64_t got, std::int64_t want) {
  if (got != want) throw Mismatch(fmt::format("{}: counted {}, expected {}", what, got, want));
}

inline auto seconds_since(SteadyClock::time_point start) -> double {
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

inline auto median(std::vector<double> values) -> double {
  if (values.empty()) return NAN;
  std::sort(values.begin(), values.end());
  return values[values.size() / 2];
}

// Nearest rank: the smallest sample that at least `fraction` of the samples do not exceed.
inline auto percentile(std::vector<double> values, double fraction) -> double {
  std::sort(values.begin(), values.end());
  auto rank = static_cast<std::size_t>(std::ceil(fraction * static_cast<double>(values.size())));
  return values[std::clamp<std::size_t>(rank, 1, values.size()) - 1];
}

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

inline auto value_text(double value, std::string_view unit) -> std::string {
  if (std::isnan(value)) return "–";
  if (unit == "jobs/s" || unit == "jobs") return fmt::format("{:.0f} {}", value, unit);
  return fmt::format("{:.{}f} {}", value, unit == "ms" ? 2 : 1, unit);
}

}  // namespace pq::bench
