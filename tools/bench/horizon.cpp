// W6: a steady load drained by a pq::Worker while another session holds the xmin horizon back, so that no
// vacuum can remove the dead tuples and dead index entries that every claim leaves behind, against the same
// load with nothing holding it. Runs only when asked for (--only W6): five minutes a run at full size.
#include <algorithm>
#include <thread>

#include "workloads.hpp"

namespace pq::bench {

namespace {

// The session that holds the horizon, ended (rolled back, disconnected) whatever happens to the run.
class Holder {
 public:
  Holder(const std::string& conninfo, HorizonHolder kind) {
    if (kind == HorizonHolder::none) return;
    session_.emplace(conninfo);
    if (kind == HorizonHolder::snapshot) {
      // The snapshot is taken by the first statement, not by BEGIN.
      session_->exec(fmt::format("BEGIN ISOLATION LEVEL REPEATABLE READ; SELECT count(*) FROM {}.jobs", kSchema));
    } else {
      session_->exec(fmt::format("BEGIN; {}", floor_insert("holder")));
    }
  }
  ~Holder() {
    if (session_) PQclear(PQexec(session_->get(), "ROLLBACK"));
  }
  Holder(const Holder&) = delete;
  auto operator=(const Holder&) -> Holder& = delete;

 private:
  std::optional<Connection> session_;
};

auto holder_text(HorizonHolder kind) -> const char* {
  switch (kind) {
    case HorizonHolder::none: return "no holder";
    case HorizonHolder::snapshot: return "REPEATABLE READ snapshot held";
    case HorizonHolder::writer: return "idle-in-transaction writer";
  }
  return "";
}

auto now_ns() -> std::int64_t {
  return std::chrono::duration_cast<std::chrono::nanoseconds>(SteadyClock::now().time_since_epoch()).count();
}

}  // namespace

// The put's time travels in the job's data, so that the handler measures put → start without a lookup that
// could race the producer.
void Bench::horizon_started(const pq::Job& job) {
  const auto at = job.data.find("\"put_ns\": ");
  if (at == std::string::npos) return;
  const std::int64_t put = std::stoll(job.data.substr(at + 10));
  const std::lock_guard lock(horizon_mutex_);
  horizon_waits_.push_back(static_cast<double>(now_ns() - put) / 1e6);
  ++horizon_done_;
  ++horizon_handled_;
}

auto Bench::horizon_run(HorizonHolder kind) -> std::vector<HorizonSlice> {
  truncate(kSchema);
  settle(kSchema);
  {
    const std::lock_guard lock(horizon_mutex_);
    horizon_waits_.clear();
    horizon_commits_.clear();
    horizon_done_ = 0;
    horizon_handled_ = 0;
  }
  const auto total = settings_.quick ? 20s : 300s;
  const auto slice = settings_.quick ? 5s : 30s;
  const int per_tick = settings_.quick ? 2 : 20;  // each 10 ms: 200 or 2,000 jobs/s
  Holder holder(conninfo_, kind);
  pq::Worker worker(*pq_, {.queues = {"horizon"}, .handle_signals = false,
                           .log = pq::stderr_log(pq::LogLevel::warning)});
  std::thread working([&] { worker.run(); });
  std::atomic<bool> stop{false};
  std::atomic<std::int64_t> put{0};
  std::thread producer([&] {
    auto queue = (*pq_)["horizon"];
    auto tick = SteadyClock::now();
    while (!stop) {
      std::vector<std::string> jobs;
      for (int i = 0; i < per_tick; ++i) jobs.push_back(fmt::format(R"({{"args": [], "put_ns": {}}})", now_ns()));
      queue.put_many(jobs, {.kind = "noop"});
      put += per_tick;
      tick += 10ms;
      std::this_thread::sleep_until(tick);
    }
  });
  // The commit probe: what a commit costs anyone meanwhile, on a table pq does not touch. Where its p99 rises
  // with pq's, the storage's flushes were slow for every writer, holder or not.
  std::thread probing([&] {
    Connection probe(conninfo_);
    auto tick = SteadyClock::now();
    while (!stop) {
      const auto sent = SteadyClock::now();
      probe.exec(floor_insert("probe"));
      const double took = std::chrono::duration<double, std::milli>(SteadyClock::now() - sent).count();
      {
        const std::lock_guard lock(horizon_mutex_);
        horizon_commits_.push_back(took);
      }
      tick += 20ms;
      std::this_thread::sleep_until(tick);
    }
  });
  const auto end_run = [&] {
    stop = true;
    producer.join();
    probing.join();
    worker.stop();
    working.join();
  };
  std::vector<HorizonSlice> slices;
  // What else slows claims down now and then: vacuums of pq.jobs, which a held horizon leaves nothing to
  // remove but the whole table and index to read, and checkpoints.
  const auto autovacuums = [&] {
    return admin_.number(fmt::format(
        "SELECT autovacuum_count + (SELECT count(*) FROM pg_stat_progress_vacuum WHERE relid = '{0}.jobs'::regclass) "
        "FROM pg_stat_user_tables WHERE relid = '{0}.jobs'::regclass", kSchema));
  };
  const auto checkpoints = [&] {
    return admin_.number("SELECT checkpoints_timed + checkpoints_req FROM pg_stat_bgwriter");
  };
  std::int64_t vacuums_before = autovacuums();
  std::int64_t checkpoints_before = checkpoints();
  const auto start = SteadyClock::now();
  try {
    for (auto end = start + slice; end <= start + total; end += slice) {
      std::this_thread::sleep_until(end);
      std::vector<double> waits;
      std::vector<double> commits;
      std::int64_t done = 0;
      {
        const std::lock_guard lock(horizon_mutex_);
        waits.swap(horizon_waits_);
        commits.swap(horizon_commits_);
        done = horizon_done_;
        horizon_done_ = 0;
      }
      admin_.exec("SELECT pg_stat_clear_snapshot()");
      const auto vacuums_now = autovacuums();
      const auto checkpoints_now = checkpoints();
      slices.push_back({done, waits.empty() ? NAN : percentile(waits, 0.99),
                        admin_.number(fmt::format("SELECT n_dead_tup FROM pg_stat_user_tables WHERE relid = "
                                                  "'{}.jobs'::regclass", kSchema)),
                        admin_.number(fmt::format("SELECT pg_relation_size('{}.jobs_claim_idx')", kSchema)),
                        vacuums_now - vacuums_before, checkpoints_now - checkpoints_before,
                        commits.empty() ? NAN : percentile(commits, 0.99),
                        commits.empty() ? NAN : *std::max_element(commits.begin(), commits.end())});
      vacuums_before = vacuums_now;
      checkpoints_before = checkpoints_now;
      const auto& last = slices.back();
      progress_.show("W6 {}: {:.0f} s, {} jobs done, put-to-start p99 {:.1f} ms, commit probe p99 {:.1f} ms, max "
                     "{:.1f} ms, {} dead tuples, claim index {} kB, {} autovacuums, {} checkpoints",
                     holder_text(kind), seconds_since(start), done, last.p99_ms, last.commit_p99_ms,
                     last.commit_max_ms, last.dead_tuples, last.claim_index_bytes / 1024, last.autovacuums,
                     last.checkpoints);
      if (kind != HorizonHolder::none && end + slice > start + total) horizon_plans_.push_back(explain_claim(kind));
    }
  } catch (...) {
    end_run();
    throw;
  }
  end_run();
  expect_count("W6 jobs in pq's table", count(kSchema, "queue = 'horizon'"), put.load());
  expect_count("W6 completed jobs", count(kSchema, "queue = 'horizon' AND state = 'completed'"), horizon_handled_);
  return slices;
}

// A one-job claim as sql/queue/claim.sql makes it, in a transaction rolled back: what each claim walks late in
// a held-horizon run, from the head of the claim index and from the last job claimed, as a worker claims.
auto Bench::explain_claim(HorizonHolder kind) -> std::string {
  const auto last = admin_.number(fmt::format(
      "SELECT coalesce(max(id), 0) FROM {}.jobs WHERE queue = 'horizon' AND state <> 'available'", kSchema));
  std::string plans;
  for (const auto& [where, after] : {std::pair{"from the head", std::string("-32768, '-infinity', 0")},
                                     std::pair{"from the last job claimed", fmt::format("0, 'infinity', {}", last)}}) {
    auto result = admin_.exec(fmt::format(
        "BEGIN; EXPLAIN (ANALYZE, BUFFERS) UPDATE {0}.jobs AS job SET state = 'running', attempt = job.attempt + 1, "
        "attempted_at = now(), lease_until = now() + interval '30 seconds', locked_by = 'explain' "
        "WHERE job.ctid = ANY (ARRAY(SELECT ctid FROM {0}.jobs WHERE state = 'available' AND queue = 'horizon' "
        "AND ({2}) > ({1}) ORDER BY {2} LIMIT 1 FOR UPDATE SKIP LOCKED)) RETURNING job.*",
        kSchema, after, kClaimOrder));
    plans += fmt::format("EXPLAIN (ANALYZE, BUFFERS) of a one-job claim {}, {}:\n", where, holder_text(kind));
    for (int i = 0; i < PQntuples(result.get()); ++i) plans += fmt::format("    {}\n", PQgetvalue(result.get(), i, 0));
    admin_.exec("ROLLBACK");
  }
  return plans;
}

void Bench::held_horizon(std::vector<Row>& rows) {
  std::map<HorizonHolder, std::vector<HorizonSlice>> runs;
  for (auto kind : {HorizonHolder::none, HorizonHolder::snapshot, HorizonHolder::writer}) {
    runs[kind] = horizon_run(kind);
  }
  const auto& free = runs[HorizonHolder::none];
  // The last minute: two slices at full size, with --quick the last two slices too.
  auto last_minute = [](const std::vector<HorizonSlice>& slices) {
    std::int64_t done = 0;
    std::vector<double> p99s;
    for (auto it = slices.end() - std::min<std::ptrdiff_t>(2, std::ssize(slices)); it != slices.end(); ++it) {
      done += it->done;
      p99s.push_back(it->p99_ms);
    }
    return std::pair{static_cast<double>(done), *std::max_element(p99s.begin(), p99s.end())};
  };
  const auto [free_done, free_p99] = last_minute(free);
  std::string table = "W6 per slice (jobs done, put-to-start p99, the commit probe's p99 and max, n_dead_tup of "
                      "pq.jobs, jobs_claim_idx size, autovacuums of pq.jobs and checkpoints):\n\n"
                      "| holder | slice | jobs done | p99 ms | commit p99 ms | commit max ms | n_dead_tup | "
                      "claim index kB | autovacuums | checkpoints |\n"
                      "| --- | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: |\n";
  for (const auto& [kind, slices] : runs) {
    for (std::size_t i = 0; i < slices.size(); ++i) {
      const auto& at = slices[i];
      table += fmt::format("| {} | {} | {} | {:.1f} | {:.1f} | {:.1f} | {} | {} | {} | {} |\n", holder_text(kind),
                           i + 1, at.done, at.p99_ms, at.commit_p99_ms, at.commit_max_ms, at.dead_tuples,
                           at.claim_index_bytes / 1024, at.autovacuums, at.checkpoints);
    }
    if (kind == HorizonHolder::none) continue;
    const auto [done, p99] = last_minute(slices);
    const std::string floor = "the same load without a holder, last minute";
    rows.push_back({fmt::format("W6 {}, last minute's jobs", holder_text(kind)), "jobs", floor, {done},
                    {free_done}, {{Goal::Kind::min_ratio, 0.8}}});
    rows.push_back({fmt::format("W6 {}, put-to-start p99", holder_text(kind)), "ms", floor, {p99}, {free_p99},
                    {{Goal::Kind::max_ratio, 3}}});
  }
  horizon_plans_.insert(horizon_plans_.begin(), table);
}

}  // namespace pq::bench
