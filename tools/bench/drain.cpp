// W3 and W5: draining a queue through pq::Worker and get(tx), against pgbench's claim-and-complete.
#include <array>
#include <functional>
#include <thread>

#include "workloads.hpp"

namespace pq::bench {

// Drains the drain queue through a worker and returns the rate. The time runs from run()'s start to its
// return, after the last completion is written: it includes the worker's start (two connections) and stop,
// a few milliseconds, where pgbench's rates exclude their connections. The database's now() cannot time it:
// it is when a statement starts, and the last completions may be one long statement.
auto Bench::drain_with_worker(int concurrency, std::int64_t already_finished) -> double {
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

void Bench::fill_drain() {
  truncate(kSchema);
  put_jobs("drain", sizes_.drain);
  settle(kSchema);
}

void Bench::fill_floor(std::string_view schema) {
  truncate(schema);
  admin_.exec(floor_fill(schema, "drain", sizes_.drain));
  settle(schema);
}

auto Bench::floor_drain(const char* name, int clients, int batch) -> double {
  const int n = sizes_.drain;
  fill_floor();
  const auto script = floor_claim(kFloor, "drain", batch) + ";";
  const double rate = batch * pgbench_.run(name, script, clients, n / batch / clients);
  expect_count("drained rows in the floor's table", count(kFloor, "state = 'completed'"), n);
  return rate;
}

// Takes `count` jobs in kClients threads, a transaction each; returns the seconds it took.
auto Bench::drain_transactional(int count) -> double {
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

// Four clients' one-row transactions are as much at the mercy of the machine's fast and slow seconds as
// W1's (see enqueue_one): pq, the floor and the floor's script on pq's table shape drain the same jobs in
// slices, taking turns at going first.
auto Bench::drain_transactional_in_turn(int run) -> TransactionalRates {
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

void Bench::drain(std::vector<Row>& rows) {
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

void Bench::drain_crowded(std::vector<Row>& rows) {
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

}  // namespace pq::bench
