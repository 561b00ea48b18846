// W3 and W5: draining a queue through pq::Worker and get(tx), against pgbench's claim-and-complete and
// one-row DELETE.
#include <array>
#include <functional>
#include <memory>
#include <thread>

#include "workloads.hpp"

namespace pq::bench {

// Drains the drain queue through a worker and returns the rate. The time runs from run()'s start to its
// return, after the last completion is written: it includes the worker's start (two connections) and stop,
// a few milliseconds, where pgbench's rates exclude their connections. The database's now() cannot time it:
// it is when a statement starts, and the last completions may be one long statement.
auto Bench::drain_with_worker(int concurrency, std::int64_t already_finished, int prefetch) -> double {
  handled_ = 0;
  pq::Worker worker(*pq_, {.queues = {"drain"}, .concurrency = concurrency, .prefetch = prefetch, .burst = true,
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

// A transaction per job that deletes it: what a worker claiming one job at a time and keeping no history
// cannot beat.
auto Bench::floor_delete_drain(const char* name, int clients) -> double {
  const int n = sizes_.drain;
  fill_floor();
  const auto script = "BEGIN;\n" + floor_delete(kFloor, "drain", 1) + ";\nCOMMIT;";
  const double rate = pgbench_.run(name, script, clients, n / clients);
  expect_count("rows left in the floor's table", count(kFloor, "true"), 0);
  return rate;
}

// Takes `count` jobs of queue `name` in kClients threads, a transaction each; returns the seconds it took.
auto Bench::drain_transactional(pq::PQ& pq, const std::string& name, int count) -> double {
  std::atomic<int> budget{count};
  std::atomic<int> missing{0};
  const auto start = SteadyClock::now();
  std::vector<std::thread> threads;
  for (int i = 0; i < kClients; ++i) {
    threads.emplace_back([&] {
      auto drain = pq[name];
      while (budget.fetch_sub(1) > 0) {
        auto tx = pq.begin();
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

namespace {

// The get(tx) loop's pq sides: each its own pq::PQ with its connection options, drained in turn with the
// floors, and a row each against the claim-and-complete floor and the one-row DELETE floor. A connection
// option that changes what a take costs is measured by adding a line here.
struct TransactionalVariant {
  std::string name;
  pq::ConnectionOptions options;
  double delete_goal;  // the least ratio to the one-row DELETE floor
};

auto transactional_variants() -> std::vector<TransactionalVariant> {
  return {
      {"W3 get(tx) in 4 threads", {.schema = kSchema}, 0.6},
      {"W3 get(tx) in 4 threads, keep_completed=false", {.schema = kSchema, .keep_completed = false}, 0.8},
  };
}

}  // namespace

// Four clients' one-row transactions are as much at the mercy of the machine's fast and slow seconds as
// W1's (see enqueue_one): pq and the floors (claim-and-complete and one-row DELETE, each on the plain table
// and on a copy of pq's) drain the same number of jobs in slices, taking turns at going first.
void Bench::drain_transactional_in_turn(std::vector<Row>& rows) {
  const int n = sizes_.drain;
  const int slice = n / kSlices;
  const auto variants = transactional_variants();
  struct Side {
    std::string queue;
    std::unique_ptr<pq::PQ> pq;  // null: a floor
    std::string script;
    std::vector<double> runs;
    double seconds = 0;
  };
  std::vector<Side> sides;
  for (std::size_t i = 0; i < variants.size(); ++i) {
    sides.push_back({fmt::format("tx{}", i), std::make_unique<pq::PQ>(conninfo_, variants[i].options), "", {}, 0});
  }
  // A transactional get is BEGIN, the claim, COMMIT: the floors spend the same three statements.
  auto script = [](const std::string& sql) { return "BEGIN;\n" + sql + ";\nCOMMIT;"; };
  const std::size_t floors = sides.size();
  sides.push_back({"drain", nullptr, script(floor_claim(kFloor, "drain", 1)), {}, 0});
  sides.push_back({"drain", nullptr, script(floor_claim(kShaped, "drain", 1)), {}, 0});
  sides.push_back({"delete", nullptr, script(floor_delete(kFloor, "delete", 1)), {}, 0});
  sides.push_back({"delete", nullptr, script(floor_delete(kShaped, "delete", 1)), {}, 0});
  for (int run = 1; run <= kRuns; ++run) {
    progress_.show("W3 drain {} jobs, get(tx) in {} threads: run {}/{}", n, kClients, run, kRuns);
    truncate(kSchema);
    for (std::size_t i = 0; i < floors; ++i) put_jobs(sides[i].queue.c_str(), n);
    settle(kSchema);
    for (const auto* schema : {kFloor, kShaped}) {
      truncate(schema);
      admin_.exec(floor_fill(schema, "drain", n));
      admin_.exec(floor_fill(schema, "delete", n));
      settle(schema);
    }
    for (std::size_t i = 0; i < floors; ++i) {
      // Open the connections first, so that the time is the drain's alone.
      std::vector<pq::Transaction> warm;
      for (int c = 0; c < kClients; ++c) warm.push_back(sides[i].pq->begin());
    }
    for (auto& side : sides) side.seconds = 0;
    for (int done = 0, turn = run; done < n; done += slice, ++turn) {
      for (std::size_t i = 0; i < sides.size(); ++i) {
        const auto index = (static_cast<std::size_t>(turn) + i) % sides.size();
        auto& side = sides[index];
        side.seconds += side.pq ? drain_transactional(*side.pq, side.queue, slice)
                                : slice / pgbench_.run(fmt::format("w3-tx{}", index), side.script, kClients,
                                                       slice / kClients);
      }
    }
    for (auto& side : sides) side.runs.push_back(n / side.seconds);
    for (std::size_t i = 0; i < floors; ++i) {
      expect_count("jobs left available after get(tx)",
                   count(kSchema, fmt::format("queue = '{}' AND state = 'available'", sides[i].queue)), 0);
    }
    for (const auto* schema : {kFloor, kShaped}) {
      expect_count("claimed rows in a floor's table", count(schema, "queue = 'drain' AND state = 'completed'"), n);
      expect_count("rows left to delete in a floor's table", count(schema, "queue = 'delete'"), 0);
    }
    progress_.show("  get(tx): pq {}, floors {} / {} / {} / {}", value_text(sides[0].runs.back(), "jobs/s"),
                   value_text(sides[floors].runs.back(), "jobs/s"), value_text(sides[floors + 1].runs.back(), "jobs/s"),
                   value_text(sides[floors + 2].runs.back(), "jobs/s"),
                   value_text(sides[floors + 3].runs.back(), "jobs/s"));
  }
  const auto& claim = sides[floors].runs;
  const auto& claim_shaped = sides[floors + 1].runs;
  const auto& deleted = sides[floors + 2].runs;
  const auto& deleted_shaped = sides[floors + 3].runs;
  for (std::size_t i = 0; i < floors; ++i) {
    const auto& name = variants[i].name;
    const auto& runs = sides[i].runs;
    if (i == 0) {
      rows.push_back({"W3 drain, get(tx) in 4 threads", "jobs/s",
                      "pgbench, BEGIN; claim-and-complete 1 row; COMMIT, 4 clients", runs, claim,
                      {{Goal::Kind::min_ratio, 0.8}}});
      rows.push_back({"W3 get(tx), floor on pq's table", "jobs/s",
                      "the same pgbench script on a copy of pq's table, with its constraints and indexes", runs,
                      claim_shaped, {}});
    }
    rows.push_back({name + ", 1-row DELETE floor", "jobs/s",
                    "pgbench, BEGIN; DELETE the head row FOR UPDATE SKIP LOCKED; COMMIT, 4 clients", runs, deleted,
                    {{Goal::Kind::min_ratio, variants[i].delete_goal}}});
    rows.push_back({name + ", 1-row DELETE floor on pq's table", "jobs/s",
                    "the same DELETE script on a copy of pq's table, with its constraints and indexes", runs,
                    deleted_shaped, {}});
  }
}

// One job per claim (prefetch 0): a commit for the claim and one for the completion, against one
// transaction per job that deletes it.
void Bench::drain_one_per_claim(std::vector<Row>& rows) {
  const int n = sizes_.drain;
  Row one{"W3 drain, Worker c1, prefetch 0", "jobs/s",
          "pgbench, BEGIN; DELETE the head row FOR UPDATE SKIP LOCKED; COMMIT, 1 client", {}, {},
          {{Goal::Kind::min_ratio, 0.5}}};
  Row four{"W3 drain, Worker c4, prefetch 0", "jobs/s",
           "pgbench, BEGIN; DELETE the head row FOR UPDATE SKIP LOCKED; COMMIT, 4 clients", {}, {}, {}};
  for (int run = 1; run <= kRuns; ++run) {
    for (auto* row : {&one, &four}) {
      const int concurrency = row == &one ? 1 : kClients;
      progress_.show("W3 drain {} jobs, Worker c{}, prefetch 0: run {}/{}", n, concurrency, run, kRuns);
      in_turn(
          run, [&] {
            fill_drain();
            row->pq_runs.push_back(drain_with_worker(concurrency, 0, 0));
          },
          [&] { row->floor_runs.push_back(floor_delete_drain("w3-delete", concurrency)); });
      measured(*row);
    }
  }
  rows.push_back(std::move(one));
  rows.push_back(std::move(four));
}

void Bench::drain(std::vector<Row>& rows) {
  const int n = sizes_.drain;
  Row one{"W3 drain, Worker c1", "jobs/s", fmt::format("pgbench, claim-and-complete {} rows per statement, 1 client", kBatch),
          {}, {}, {}};
  Row four{"W3 drain, Worker c4", "jobs/s", "", {}, {}, {{Goal::Kind::min_ratio, 0.6}}};
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
  }
  // The best batched floor, whichever client count reaches it.
  const bool four_is_best = median(batched_four) >= one.floor();
  four.floor_runs = four_is_best ? batched_four : one.floor_runs;
  four.floor_name = fmt::format("pgbench, claim-and-complete {} rows per statement, {} (the best batched floor)",
                                kBatch, four_is_best ? "4 clients" : "1 client");
  rows.push_back(std::move(one));
  rows.push_back(std::move(four));
  drain_one_per_claim(rows);
  drain_transactional_in_turn(rows);
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
