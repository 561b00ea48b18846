// The random-kill soak: 20,000 jobs through four pq-worker processes that are SIGKILLed at random and
// restarted, one fast restart of the server in the middle, and a pq-scheduler rescuing what the dead held.
#include <signal.h>

#include <algorithm>
#include <random>
#include <set>

#include "chaos.hpp"

using namespace std::chrono_literals;

namespace {

constexpr int kJobs = 20000;  // half leased, half transactional
constexpr int kWorkers = 4;
// A handler pauses up to this long: it caps throughput, so that kills land on running jobs however fast
// the machine is.
constexpr int kPauseMs = 40;

using Attempt = std::pair<std::int64_t, int>;  // (job id, attempt)

// One SIGKILL: whom it hit, when by the database's clock, and the jobs that worker held at that moment.
struct Kill {
  std::string worker;  // ":<pid>:", as it appears in locked_by and in the errors' "worker"
  std::int64_t at_us = 0;
  std::set<Attempt> held;
};

// A lease-expired entry of some job's errors: a rescue.
struct Rescue {
  std::string worker;
  Attempt attempt;
  std::int64_t at_us = 0;
};

struct Slot {
  std::string application;
  std::unique_ptr<test::Child> child;
};

auto put_jobs(pq::PQ& pq, const std::string& runs, const std::string& effects) {
  for (int batch = 0; batch < kJobs / 500; ++batch) {
    const bool leased = batch % 2 == 0;
    const auto& table = leased ? runs : effects;
    std::vector<std::string> data(500, chaos::args(table, kPauseMs));
    pq["soak"].put_many(data, {.kind = leased ? "leased" : "transactional"});
  }
}

auto rescues(pq::PQ& pq) -> std::vector<Rescue> {
  std::vector<Rescue> out;
  for (const auto& row : chaos::rows(pq, "select e->>'worker', j.id, (e->>'attempt')::int, "
                                         "(extract(epoch from (e->>'at')::timestamptz) * 1000000)::bigint from " +
                                             chaos::table(pq, "jobs") +
                                             " j, jsonb_array_elements(j.errors) e where e->>'error' = 'lease expired'")) {
    out.push_back({row[0], {std::stoll(row[1]), std::stoi(row[2])}, std::stoll(row[3])});
  }
  return out;
}

}  // namespace

TEST_SUITE("soak") {
  TEST_CASE("random SIGKILLs of pq-worker processes and a server restart: every job done, no effect doubled") {
    REQUIRE_MESSAGE(!test::server().external(), "the soak restarts its server, so it needs a throwaway one");
    const auto began = std::chrono::steady_clock::now();
    auto pq = test::fresh();
    const auto jobs = chaos::table(pq, "jobs");
    const auto runs = chaos::table(pq, "runs");
    const auto effects = chaos::table(pq, "effects");
    chaos::rows(pq, "create table " + runs + " (job bigint, attempt int, pid int)");
    chaos::rows(pq, "create table " + effects + " (job bigint, attempt int, pid int)");
    put_jobs(pq, runs, effects);

    test::Child scheduler(test::pq_command("PQ_SCHEDULER_BIN", test::tagged(test::server().url(), "soak-scheduler"),
                                           pq.options().schema, {"--interval", "0.2", "--leader-ttl", "2"}),
                          {}, test::scratch("scheduler.log"));
    int generation = 0;
    auto start = [&](Slot& slot) {
      slot.application = "soak-" + std::to_string(generation++);
      slot.child = chaos::worker(test::tagged(test::server().url(), slot.application), pq, "soak",
                                 {"--lease", "4", "--concurrency", "8", "--grace", "10"},
                                 test::scratch(slot.application + ".log"));
    };
    std::vector<Slot> slots(kWorkers);
    for (auto& slot : slots) start(slot);

    std::vector<std::unique_ptr<test::Child>> dead;
    std::vector<Kill> kills;
    auto kill = [&](Slot& slot) {
      slot.child->signal(SIGSTOP);
      // Statements it sent before it stopped may still be running: once none is, what the database says the
      // worker holds is exactly what it holds when it dies.
      REQUIRE(chaos::eventually([&] { return chaos::backends(pq, slot.application, "state = 'active'") == 0; }, 30s));
      // A statement sent just before the stop may not have reached its backend yet (on a loaded machine the
      // backend may not even have run): give it the time to arrive, then wait for it to end.
      std::this_thread::sleep_for(250ms);
      REQUIRE(chaos::eventually([&] { return chaos::backends(pq, slot.application, "state = 'active'") == 0; }, 30s));
      Kill hit{":" + std::to_string(slot.child->pid()) + ":", 0, {}};
      for (const auto& row : chaos::rows(pq, "select (extract(epoch from now()) * 1000000)::bigint, j.id, j.attempt "
                                             "from (select) now left join " + jobs + " j on j.state = 'running' "
                                             "and j.locked_by like '%" + hit.worker + "%'")) {
        hit.at_us = std::stoll(row[0]);
        if (!row[1].empty()) hit.held.emplace(std::stoll(row[1]), std::stoi(row[2]));
      }
      slot.child->signal(SIGKILL);
      REQUIRE(slot.child->wait(30s));
      kills.push_back(std::move(hit));
      dead.push_back(std::move(slot.child));
      start(slot);
    };
    auto completed = [&] { return chaos::number(pq, "select count(*) from " + jobs + " where state = 'completed'"); };

    std::mt19937 random{std::random_device{}()};
    std::optional<std::int64_t> restarted_at_us;
    const auto chaos_ends = std::chrono::steady_clock::now() + 150s;
    while (std::chrono::steady_clock::now() < chaos_ends) {
      std::this_thread::sleep_for(std::chrono::milliseconds(1000 + random() % 1000));
      const auto done = completed();
      if (done >= kJobs * 9 / 10) break;
      if (!restarted_at_us && done >= kJobs / 3) {
        restarted_at_us = chaos::number(pq, "select (extract(epoch from now()) * 1000000)::bigint");
        test::server().restart();
        continue;
      }
      kill(slots[random() % slots.size()]);
    }
    REQUIRE(restarted_at_us);
    CHECK(kills.size() >= 5);

    // The last kill's jobs come back within about a lease and the scheduler's interval.
    CHECK(chaos::eventually([&] { return completed() == kJobs; }, 180s));
    for (auto& slot : slots) slot.child->signal(SIGTERM);
    scheduler.signal(SIGTERM);
    for (auto& slot : slots) CHECK(slot.child->wait(60s) == 0);
    CHECK(scheduler.wait(60s) == 0);

    CHECK(chaos::number(pq, "select count(*) from " + jobs + " where state <> 'completed'") == 0);
    // Exactly once: one committed effect per transactional job.
    CHECK(chaos::number(pq, "select count(*) from " + jobs + " j where kind = 'transactional' and (select count(*) from " +
                                effects + " e where e.job = j.id) <> 1") == 0);
    // At least once: every leased job ran, and no attempt ran twice.
    CHECK(chaos::number(pq, "select count(*) from " + jobs + " j where kind = 'leased' and not exists (select from " +
                                runs + " r where r.job = j.id)") == 0);
    CHECK(chaos::number(pq, "select count(*) from (select from " + runs + " group by job, attempt having count(*) > 1) d") == 0);
    // Every attempt but the last ended in an error entry: no attempt vanished without a trace.
    CHECK(chaos::number(pq, "select count(*) from " + jobs + " where attempt <> jsonb_array_length(errors) + 1") == 0);

    // Rescues after each kill are exactly the jobs the killed worker held; any other rescue took the lease of
    // a live worker, which only the server's restart may cause (its heartbeats could not get through).
    auto all = rescues(pq);
    auto follows = [](const Rescue& rescue, const Kill& hit) {
      return rescue.worker.find(hit.worker) != std::string::npos && rescue.at_us > hit.at_us;
    };
    std::size_t held = 0, rescued_after_kills = 0, live = 0;
    for (const auto& hit : kills) {
      std::set<Attempt> after;
      for (const auto& rescue : all) {
        if (follows(rescue, hit)) after.insert(rescue.attempt);
      }
      CAPTURE(hit.worker);
      CHECK(after == hit.held);
      held += hit.held.size();
      rescued_after_kills += after.size();
    }
    for (const auto& rescue : all) {
      if (std::any_of(kills.begin(), kills.end(), [&](const Kill& hit) { return follows(rescue, hit); })) continue;
      ++live;
      CHECK(rescue.at_us >= *restarted_at_us);
    }
    const auto leased_reruns =
        chaos::number(pq, "select count(*) - count(distinct job) from " + runs);
    const auto errors = chaos::number(pq, "select coalesce(sum(jsonb_array_length(errors)), 0) from " + jobs);
    MESSAGE("soak: " << kJobs << " jobs, " << kills.size() << " SIGKILLs holding " << held << " running jobs, "
                     << rescued_after_kills << " rescued after them, " << live
                     << " rescued from live workers around the restart, " << errors << " error entries, "
                     << leased_reruns << " leased re-runs, "
                     << std::chrono::duration_cast<std::chrono::seconds>(std::chrono::steady_clock::now() - began).count()
                     << " s");
  }
}
