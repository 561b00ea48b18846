// Stale-worker fencing: a worker stopped (SIGSTOP) past its lease wakes up after its jobs were rescued and
// completed elsewhere; nothing it writes late may change a row.
#include <signal.h>

#include <algorithm>
#include <map>

#include "chaos.hpp"

using namespace std::chrono_literals;

namespace {

// Every job row, but for the lease of a job running elsewhere, which its new worker's heartbeats renew.
auto snapshot(pq::PQ& pq) -> chaos::Rows {
  return chaos::rows(pq, "select (to_jsonb(j) - 'lease_until')::text from " + chaos::table(pq, "jobs") +
                             " j order by id");
}

}  // namespace

TEST_SUITE("fencing") {
  TEST_CASE("a worker stopped past its lease: its late completion, failure, heartbeat and release change no row") {
    constexpr int kJobs = 6;
    auto pq = test::fresh();
    const auto effects = chaos::table(pq, "effects");
    chaos::rows(pq, "create table " + effects + " (job bigint, attempt int, pid int)");
    auto q = pq["fence"];
    const std::map<std::string, std::int64_t> ids{
        {"completion", q.put(chaos::args("ok", 1500), {.kind = "late"})},
        {"retry", q.put(chaos::args("retry", 1500), {.kind = "late"})},
        {"failure", q.put(chaos::args("fail", 1500), {.kind = "late"})},
        // Still running when the worker wakes: its heartbeat, then its release at shutdown, arrive late.
        {"heartbeat", q.put(chaos::args("ok", 600000), {.kind = "late"})},
        {"transaction", q.put(chaos::args(effects, 1500), {.kind = "late_tx"})},
        // Running again elsewhere when the late completion arrives: only (attempt, worker) tells them apart.
        {"rerun", q.put(chaos::args("again", 1500), {.kind = "late"})},
    };
    const auto url = test::server().url();
    auto stale = chaos::worker(test::tagged(url, "stale"), pq, "fence", {"--lease", "1", "--grace", "1"},
                               test::scratch("stale.log"));
    REQUIRE(chaos::eventually(
        [&] {
          auto out = stale->output();
          return std::all_of(ids.begin(), ids.end(), [&](const auto& id) {
            return out.find("started job " + std::to_string(id.second) + " attempt 1") != std::string::npos;
          });
        },
        60s));
    stale->signal(SIGSTOP);

    // Its leases lapse; the scheduler rescues the jobs and another worker runs them again: all complete but
    // one, which is running its second attempt there.
    test::Child scheduler(test::pq_command("PQ_SCHEDULER_BIN", url, pq.options().schema, {"--interval", "0.2"}), {},
                          test::scratch("scheduler.log"));
    auto fresh = chaos::worker(url, pq, "fence", {"--lease", "1"}, test::scratch("fresh.log"));
    const auto jobs = chaos::table(pq, "jobs");
    CHECK(chaos::eventually(
        [&] {
          return chaos::number(pq, "select count(*) from " + jobs + " where state = 'completed' and attempt = 2") ==
                     kJobs - 1 &&
                 chaos::number(pq, "select count(*) from " + jobs + " where state = 'running' and attempt = 2 and id = " +
                                       std::to_string(ids.at("rerun"))) == 1;
        },
        60s));
    const auto before = snapshot(pq);

    stale->signal(SIGCONT);
    auto logged = [&](const std::string& line) {
      CAPTURE(line);
      CHECK(chaos::eventually([&] { return stale->output().find(line) != std::string::npos; }, 60s));
    };
    auto discarded = [&](const char* late, const char* task) {
      return "job " + std::to_string(ids.at(late)) + " (fence/" + task + ") attempt 1: its lease had passed on";
    };
    logged(discarded("completion", "late"));
    logged(discarded("retry", "late"));
    logged(discarded("failure", "late"));
    logged(discarded("transaction", "late_tx"));
    logged(discarded("rerun", "late"));
    logged("job " + std::to_string(ids.at("heartbeat")) + " (fence/late) lost its lease");
    stale->signal(SIGTERM);
    CHECK(stale->wait(60s) == 0);
    logged(discarded("heartbeat", "late"));
    CHECK(stale->output().find("0 completed, 0 retried, 0 failed, 0 cancelled, 0 released, 6 lost") != std::string::npos);
    CHECK(snapshot(pq) == before);

    // A cancel request reaches the second attempt at its worker's next heartbeat; it stops, and completes.
    chaos::rows(pq, "update " + jobs + " set cancel_requested = true where id = " + std::to_string(ids.at("rerun")));
    CHECK(chaos::eventually(
        [&] {
          return chaos::number(pq, "select count(*) from " + jobs + " where state = 'completed' and attempt = 2") ==
                 kJobs;
        },
        60s));
    fresh->signal(SIGTERM);
    scheduler.signal(SIGTERM);
    CHECK(fresh->wait(60s) == 0);
    CHECK(scheduler.wait(60s) == 0);
    CHECK(chaos::value(pq, "select string_agg(attempt::text, ',') from " + effects) == "2");
  }
}
