// W4: from a put's commit to the start of its job, in an idle pq::Worker and in the bare-libpq floor.
#include <thread>

#include "workloads.hpp"

namespace pq::bench {

void Bench::record_start(std::int64_t id) {
  const auto now = SteadyClock::now();
  std::lock_guard lock(wake_mutex_);
  started_[id].push_back(now);
}

// Latencies in ms from each put's commit (when it returned) to the start of its job.
auto Bench::latencies(const std::map<std::int64_t, SteadyClock::time_point>& committed) -> std::vector<double> {
  std::lock_guard lock(wake_mutex_);
  std::vector<double> out;
  for (const auto& [id, at] : committed) {
    auto started = started_.find(id);
    expect_count(fmt::format("starts of job {}", id), started == started_.end() ? 0 : static_cast<std::int64_t>(started->second.size()), 1);
    out.push_back(std::chrono::duration<double, std::milli>(started->second.front() - at).count());
  }
  return out;
}

auto Bench::wait_for_starts(std::size_t count) -> bool {
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
auto Bench::put_spaced(Put&& put) -> std::map<std::int64_t, SteadyClock::time_point> {
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

auto Bench::wake_pq() -> std::vector<double> {
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

auto Bench::wake_floor() -> std::vector<double> {
  truncate(kFloor);
  {
    std::lock_guard lock(wake_mutex_);
    started_.clear();
  }
  std::map<std::int64_t, SteadyClock::time_point> committed;
  {
    WakeFloor floor(conninfo_, [this](std::int64_t id) { record_start(id); });
    committed = put_spaced([&] { return floor.put(); });
    wait_for_starts(committed.size());
  }
  return latencies(committed);
}

void Bench::wake_up(std::vector<Row>& rows) {
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

}  // namespace pq::bench
