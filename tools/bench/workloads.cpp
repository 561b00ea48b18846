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
  (*pq_)["horizon"].task("noop", [this](pq::Context& context) { horizon_started(context.job()); });
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
  if (settings_.wanted("W1c")) enqueue_concurrent(rows);
  if (settings_.wanted("W2")) {
    enqueue_many(rows.emplace_back(Row{"W2 put_many", "jobs/s", "pgbench, one INSERT … SELECT FROM generate_series",
                                       {}, {}, {{Goal::Kind::min_ratio, 0.5}}}));
  }
  if (settings_.wanted("W3")) drain(rows);
  if (settings_.wanted("W4")) wake_up(rows);
  if (settings_.wanted("W5")) drain_crowded(rows);
  if (settings_.wanted("memory")) memory(rows);
  if (settings_.named("W6")) held_horizon(rows);
  progress_.show("done");
  return rows;
}

// The figures of a run just measured, on the progress line.
auto Bench::profile() -> ServerProfile {
  auto show = [&](const char* setting) {
    auto result = admin_.exec(fmt::format("SHOW {}", setting));
    return std::string(PQgetvalue(result.get(), 0, 0));
  };
  return {.fsync = show("fsync"), .synchronous_commit = show("synchronous_commit"),
          .full_page_writes = show("full_page_writes"), .version = show("server_version")};
}

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

// Puts `count` jobs from kProducers threads, one put (one transaction) at a time; returns the rate.
auto Bench::put_in_threads(int count) -> double {
  std::atomic<int> budget{count};
  const auto start = SteadyClock::now();
  std::vector<std::thread> threads;
  for (int i = 0; i < kProducers; ++i) {
    threads.emplace_back([&] {
      auto put = queue("producers");
      while (budget.fetch_sub(1) > 0) put.put(kJob, {.kind = "noop"});
    });
  }
  for (auto& thread : threads) thread.join();
  return count / seconds_since(start);
}

// Concurrent producers, as request handlers enqueue: on a durable server their commits can share a WAL flush
// (group commit) unless something serialises them. The extra rows put pq's NOTIFY into the floor's INSERT, and
// after it as a statement of its own, to show what each way of notifying costs.
void Bench::enqueue_concurrent(std::vector<Row>& rows) {
  const int n = sizes_.producers;
  Row row{"W1c enqueue, 8 producers", "jobs/s",
          "pgbench, 8 clients, one INSERT per transaction on a copy of pq's table, no NOTIFY", {}, {},
          {{Goal::Kind::min_ratio, 0.8}}};
  Row inside{"W1c floor with NOTIFY in the INSERT", "jobs/s", "", {}, {}, {}};
  Row after{"W1c floor with NOTIFY as its own statement", "jobs/s", "", {}, {}, {}};
  const auto insert = floor_insert("producers", kShaped);
  const auto notify = fmt::format("pg_notify('{}', 'producers')", kShaped);
  const auto plain = insert + ";";
  const auto notify_inside = fmt::format("WITH job AS ({} RETURNING id) SELECT id, {} FROM job;", insert, notify);
  const auto notify_after = fmt::format("{};\nSELECT {};", insert, notify);
  auto floor = [&](const char* name, const std::string& script) {
    truncate(kShaped);
    const double rate = pgbench_.run(name, script, kProducers, n / kProducers);
    expect_count("W1c rows in the copy of pq's table", count(kShaped, "true"), n);
    return rate;
  };
  for (int run = 1; run <= kRuns; ++run) {
    progress_.show("W1c enqueue {} jobs from {} threads: run {}/{}", n, kProducers, run, kRuns);
    in_turn(
        run,
        [&] {
          truncate(kSchema);
          row.pq_runs.push_back(put_in_threads(n));
          expect_count("W1c jobs in pq's table", count(kSchema, "queue = 'producers'"), n);
        },
        [&] { row.floor_runs.push_back(floor("w1c", plain)); });
    inside.pq_runs.push_back(floor("w1c-notify-inside", notify_inside));
    after.pq_runs.push_back(floor("w1c-notify-after", notify_after));
    measured(row);
    measured(inside);
    measured(after);
  }
  // The NOTIFY rows are floors too: shown against the plain INSERT's.
  inside.floor_runs = after.floor_runs = row.floor_runs;
  inside.floor_name = "pq's column: pgbench, 8 clients, the same INSERT with pg_notify in its RETURNING; floor: the INSERT alone";
  after.floor_name = "pq's column: pgbench, 8 clients, the same INSERT, then SELECT pg_notify(...) in a transaction of its own; "
                     "floor: the INSERT alone";
  rows.push_back(std::move(row));
  rows.push_back(std::move(inside));
  rows.push_back(std::move(after));
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
