#include <signal.h>

#include <thread>

#include "process.hpp"
#include "workloads.hpp"

namespace pq::bench {

Bench::Bench(std::string conninfo, Sizes sizes, const Settings& settings, fs::path scratch)
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

Bench::~Bench() {
  try {
    admin_.exec(fmt::format("DROP SCHEMA IF EXISTS {} CASCADE; DROP SCHEMA IF EXISTS {} CASCADE; "
                            "DROP SCHEMA IF EXISTS {} CASCADE",
                            kShaped, kFloor, kSchema));
  } catch (const std::exception&) {
    // The schemas are the bench's own; leaving them behind after a failure harms nothing.
  }
}

auto Bench::run() -> std::vector<Row> {
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

// The figures of a run just measured, on the progress line.
void Bench::measured(const Row& row) {
  progress_.show("  {}: pq {}{}", row.workload, value_text(row.pq_runs.back(), row.unit),
                 row.floor_runs.size() >= row.pq_runs.size()
                     ? fmt::format(", floor {}", value_text(row.floor_runs[row.pq_runs.size() - 1], row.unit))
                     : "");
}

// One client's round trips dominate W1, and on a shared virtual machine their time flips between two
// levels (20 and 80 us here) from one second to the next. So each run puts its jobs in slices, pq's and the
// floor's in turn, and both see the same mix of fast and slow seconds.
void Bench::enqueue_one(Row& row) {
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

void Bench::enqueue_many(Row& row) {
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

// The memory of a real pq-worker process.
void Bench::memory(std::vector<Row>& rows) {
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

}  // namespace pq::bench
