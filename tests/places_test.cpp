// Where a worker's claims start (lib/worker/places.hpp), and the scout that makes its claims from the head on a
// session of its own once they cost clearly more (lib/worker/scout.hpp).
#include <limits>
#include <thread>

#include "support.hpp"
#include "worker/places.hpp"
#include "worker/scout.hpp"

using namespace std::chrono_literals;

namespace {

using pq::worker::Places;
using Origin = Places::Origin;

auto job_at(int priority, std::int64_t id) -> pq::Job {
  pq::Job job;
  job.priority = priority;
  job.id = id;
  return job;
}

auto found(double took, std::vector<pq::Job> jobs, int wanted) -> Places::Claim {
  return Places::Claim::of(took, jobs, wanted);
}

// Claims from the head at 60 ms against 1 ms from the place: from then on they go to the scout.
void space_out(Places& places, Places::Clock::time_point now, std::int64_t id) {
  places.claimed("q", Origin::head, found(0.001, {job_at(0, id)}, 1), now);
  places.claimed("q", Origin::place, found(0.001, {job_at(0, id)}, 1), now);
  for (int i = 0; i < 40; ++i) places.claimed("q", Origin::head, found(0.060, {job_at(0, id)}, 1), now);
}

}  // namespace

TEST_SUITE("places") {
  TEST_CASE("claims alternate between head and place while both cost the same, and space the head out after") {
    const auto t0 = Places::Clock::now();
    Places places;
    CHECK(places.start("q", t0).after == nullptr);  // no place yet
    CHECK_FALSE(places.start("q", t0).scout);
    CHECK_FALSE(places.claimed("q", Origin::head, found(0.002, {job_at(0, 10)}, 1), t0));
    const auto* after = places.start("q", t0).after;
    REQUIRE(after != nullptr);
    CHECK(after->id == 10);
    CHECK_FALSE(places.claimed("q", Origin::place, found(0.002, {job_at(0, 11)}, 1), t0));
    CHECK(places.start("q", t0).after == nullptr);  // both cost the same: the head again
    // Dead entries pile up at the head: its claims cost 50 ms more.
    for (int i = 0; i < 40; ++i) places.claimed("q", Origin::head, found(0.052, {job_at(0, 12 + i)}, 1), t0);
    REQUIRE(places.start("q", t0).after != nullptr);
    // Short: jobs may wait before the place.
    CHECK_FALSE(places.claimed("q", Origin::place, found(0.002, {}, 5), t0));
    const auto early = places.start("q", t0 + std::chrono::seconds(10));
    CHECK(early.after != nullptr);
    CHECK_FALSE(early.scout);
    const auto due = places.head_wanted();
    REQUIRE(due);
    CHECK(*due > t0 + std::chrono::seconds(10));
    // Due: the claim from the head goes to the scout, and the fetcher goes on from its place.
    const auto start = places.start("q", *due);
    CHECK(start.scout);
    CHECK_FALSE(start.scout_after);
    REQUIRE(start.after != nullptr);
    CHECK(start.after->id == 51);
    CHECK_FALSE(places.start("q", *due).scout);  // one at a time
    CHECK_FALSE(places.head_wanted());           // nothing to wake up for while it is out
    const auto spaced_by = places.claimed("q", Origin::scout, found(0.052, {}, 5), *due);
    REQUIRE(spaced_by);
    CHECK(*spaced_by > 0.04);
    CHECK_FALSE(places.head_wanted());  // the head was just claimed from
    CHECK_FALSE(places.start("q", *due).scout);
  }

  TEST_CASE("the scout goes on from where a full claim stopped before the place, and the place stays") {
    const auto t0 = Places::Clock::now();
    Places places;
    space_out(places, t0, 1000);
    places.put_back();  // jobs back in the queue with old ids
    auto start = places.start("q", t0);
    REQUIRE(start.scout);
    CHECK_FALSE(start.scout_after);
    places.claimed("q", Origin::scout, found(0.060, {job_at(0, 5), job_at(0, 7)}, 2), t0);
    CHECK(places.head_wanted() == std::optional(Places::Clock::time_point{}));  // at once: more may wait
    start = places.start("q", t0);
    REQUIRE(start.scout);
    REQUIRE(start.scout_after);
    CHECK(start.scout_after->id == 7);
    CHECK(start.after->id == 1000);  // the fetcher never reads what lies between
    // It found fewer than it wanted: nothing more waits before the place, and the next is spaced out.
    places.claimed("q", Origin::scout, found(0.001, {job_at(0, 9)}, 2), t0);
    CHECK_FALSE(places.start("q", t0).scout);
    CHECK(places.start("q", t0).after->id == 1000);
    // A full claim that ended at the place it was sent up to left nothing behind; nor does the fetcher's
    // going on meanwhile leave anything between.
    places.put_back();
    REQUIRE(places.start("q", t0).scout);
    places.claimed("q", Origin::place, found(0.001, {job_at(0, 1500)}, 1), t0);
    places.claimed("q", Origin::scout, found(0.060, {job_at(0, 990), job_at(0, 1000)}, 2), t0);
    CHECK_FALSE(places.head_wanted());
    CHECK_FALSE(places.start("q", t0).scout);
    CHECK(places.start("q", t0).after->id == 1500);
  }

  TEST_CASE("the scout's claim expects jobs only where they are known to wait before the place") {
    const auto t0 = Places::Clock::now();
    Places places;
    space_out(places, t0, 1000);
    places.claimed("q", Origin::place, found(0.001, {}, 5), t0);  // short: a look at the head is due
    const auto due = places.head_wanted();
    REQUIRE(due);
    auto start = places.start("q", *due);
    REQUIRE(start.scout);
    CHECK_FALSE(start.scout_expects);  // a look: nothing says a job waits there
    places.claimed("q", Origin::scout, found(0.060, {job_at(0, 5)}, 1), *due);
    start = places.start("q", *due);  // it found one: more may wait
    REQUIRE(start.scout);
    CHECK(start.scout_expects);
    places.claimed("q", Origin::scout, found(0.001, {}, 3), *due);  // no more
    places.put_back();
    start = places.start("q", *due);
    REQUIRE(start.scout);
    CHECK(start.scout_expects);  // jobs went back with old ids
    places.claimed("q", Origin::scout, found(0.060, {}, 3), *due);  // another worker took them
    places.claimed("q", Origin::place, found(0.001, {}, 5), *due);
    const auto later = places.head_wanted();
    REQUIRE(later);
    start = places.start("q", *later);
    REQUIRE(start.scout);
    CHECK_FALSE(start.scout_expects);
    places.heed({"q", true, 0});  // announced before the place while the scout is out
    places.claimed("q", Origin::scout, found(0.060, {}, 1), *later);
    start = places.start("q", *later);
    REQUIRE(start.scout);
    CHECK(start.scout_expects);
  }

  TEST_CASE("a notification while the scout is out sends the next claim to the head once it is back") {
    const auto t0 = Places::Clock::now();
    Places places;
    space_out(places, t0, 1000);
    places.put_back();
    REQUIRE(places.start("q", t0).scout);
    places.heed({"q", true, 0});  // committed after the scout's claim began, perhaps
    CHECK_FALSE(places.start("q", t0).scout);
    places.claimed("q", Origin::scout, found(0.060, {job_at(0, 5), job_at(0, 7)}, 2), t0);
    const auto start = places.start("q", t0);
    CHECK(start.scout);
    CHECK_FALSE(start.scout_after);  // from the head, not from where the last one stopped
  }

  TEST_CASE("a notification moves the place back before the jobs it announces, or sends the next claim to the head") {
    const auto t0 = Places::Clock::now();
    Places places;
    space_out(places, t0, 100);
    places.claimed("q", Origin::place, found(0.001, {job_at(0, 101)}, 1), t0);
    REQUIRE(places.start("q", t0).after != nullptr);
    places.heed({"q", false, 200});  // after the place: nothing changes
    CHECK(places.start("q", t0).after->id == 101);
    places.heed({"q", false, 50});  // committed late, with lower ids than jobs claimed since
    CHECK(places.start("q", t0).after->id == 49);
    places.heed({"other", true, 0});
    CHECK_FALSE(places.start("q", t0).scout);
    places.heed({"q", true, 0});  // a priority of their own, a promotion: the head
    CHECK(places.start("q", t0).scout);
    places.claimed("q", Origin::scout, found(0.060, {job_at(0, 30)}, 2), t0);
    CHECK(places.start("q", t0).after->id == 49);  // the scout's claims end at the place: it stays
    places.claimed("q", Origin::place, found(0.001, {job_at(5, 300)}, 1), t0);
    CHECK(places.start("q", t0).after->id == 300);
    places.heed({"q", false, 400});  // priority 0 sorts before a place of priority 5
    CHECK(places.start("q", t0).scout);
    places.claimed("q", Origin::scout, found(0.060, {job_at(0, 500)}, 2), t0);
    CHECK_FALSE(places.start("q", t0).scout);
    CHECK(places.start("q", t0).after->priority == 5);
    places.put_back();
    CHECK(places.start("q", t0).scout);
  }

  TEST_CASE("the scout claims on a session of its own, hands the jobs out and gives its slots back") {
    auto base = test::fresh();
    pq::PQ pq{test::tagged(test::server().url(), "scout-claims"), base.options()};
    const auto first = base["scouted"].put("{}");
    const auto second = base["scouted"].put("{}");
    const auto third = base["scouted"].put("{}");
    const auto fourth = base["scouted"].put("{}");  // after the fetcher's place: never the scout's
    const pq::store::ClaimKey place{0, pq::TimePoint::max(), third};
    test::LogCapture log;
    auto shared = std::make_shared<pq::worker::Shared>(
        pq, pq::WorkerOptions{.queues = {"scouted"}, .handle_signals = false, .log = log.sink()});
    shared->kinds["scouted"] = {""};
    pq::worker::Scout scout(shared);
    std::vector<pq::worker::Scout::Report> reports;
    const auto reported = [&] {
      for (auto& report : scout.reports()) reports.push_back(std::move(report));
      return !reports.empty();
    };
    const auto in_hand = [&] {
      std::lock_guard lock(shared->mutex);
      return shared->in_hand();
    };

    scout.ask({"scouted", 2, std::nullopt, place, {}});
    CHECK(in_hand() == 2);  // reserved, then handed out: the worker never claims past its slots meanwhile
    REQUIRE(test::wait_until(reported));
    REQUIRE(reports.size() == 1);
    CHECK(reports[0].queue == "scouted");
    CHECK(reports[0].claim.got == 2);
    REQUIRE(reports[0].claim.last);
    CHECK(reports[0].claim.last->id == second);
    {
      std::lock_guard lock(shared->mutex);
      CHECK(shared->scouting == 0);
      REQUIRE(shared->ready.size() == 2);
      CHECK(shared->ready[0]->job.id + shared->ready[1]->job.id == first + second);
    }
    CHECK(test::state_of(base, first) == pq::JobState::running);

    // Its session dies between two claims: the next claim waits for a new one, and goes out on it.
    CHECK(test::scalar(base, "select count(pg_terminate_backend(pid, 10000)) from pg_stat_activity "
                             "where application_name = 'scout-claims'") == "1");
    reports.clear();
    scout.ask({"scouted", 5, pq::store::ClaimKey{0, pq::TimePoint::max(), second}, place, {}});
    REQUIRE(test::wait_until(reported, 30s));
    CHECK(reports[0].claim.got == 1);
    CHECK(reports[0].claim.last->id == third);
    CHECK(test::state_of(base, fourth) == pq::JobState::available);
    CHECK(log.contains("claims from the head of queue scouted"));
    CHECK(in_hand() == 3);
  }

  // The fetcher takes a claim from the head as done when its report comes: a report that came after the jobs
  // were handed out (and run, and retried) would let a burst end in between, with the retry before the place.
  TEST_CASE("the scout reports a claim before it hands the jobs out") {
    auto base = test::fresh();
    pq::PQ pq{test::tagged(test::server().url(), "scout-reports"), base.options()};
    base["reports"].put("{}");
    auto shared = std::make_shared<pq::worker::Shared>(
        pq, pq::WorkerOptions{.queues = {"reports"}, .handle_signals = false});
    shared->kinds["reports"] = {""};
    pq::worker::Scout scout(shared);
    auto locker = base.begin();
    locker.exec("lock table " + test::jobs_table(base) + " in exclusive mode");
    const pq::store::ClaimKey end{pq::kMaxPriority, pq::TimePoint::max(), std::numeric_limits<std::int64_t>::max()};
    scout.ask({"reports", 1, std::nullopt, end, {}});
    REQUIRE(test::wait_until([&] {
      return test::scalar(base, "select count(*) from pg_stat_activity where application_name = 'scout-reports' "
                                "and wait_event_type = 'Lock'") == "1";
    }));
    std::vector<pq::worker::Scout::Report> reports;
    {
      // Held until the report is in: handing the jobs out waits for it.
      std::unique_lock lock(shared->mutex);
      locker.rollback();
      CHECK(test::wait_until([&] {
        reports = scout.reports();
        return !reports.empty();
      }, 5s));
      CHECK(shared->ready.empty());
    }
    REQUIRE(reports.size() == 1);
    CHECK(reports[0].claim.got == 1);
    REQUIRE(test::wait_until([&] {
      std::lock_guard lock(shared->mutex);
      return shared->scouting == 0 && shared->ready.size() == 1;
    }));
  }

  TEST_CASE("a scout that stops with a claim in flight hands its jobs out, and gives back the slots of the rest") {
    auto base = test::fresh();
    pq::PQ pq{test::tagged(test::server().url(), "scout-stops"), base.options()};
    for (int i = 0; i < 4; ++i) base["stops"].put("{}");
    test::LogCapture log;
    auto shared = std::make_shared<pq::worker::Shared>(
        pq, pq::WorkerOptions{.queues = {"stops"}, .handle_signals = false, .log = log.sink()});
    shared->kinds["stops"] = {""};
    auto scout = std::make_unique<pq::worker::Scout>(shared);
    auto locker = base.begin();
    locker.exec("lock table " + test::jobs_table(base) + " in exclusive mode");
    const pq::store::ClaimKey end{pq::kMaxPriority, pq::TimePoint::max(), std::numeric_limits<std::int64_t>::max()};
    scout->ask({"stops", 2, std::nullopt, end, {}});
    scout->ask({"stops", 3, std::nullopt, end, {}});
    REQUIRE(test::wait_until([&] {
      return test::scalar(base, "select count(*) from pg_stat_activity where application_name = 'scout-stops' "
                                "and wait_event_type = 'Lock'") == "1";
    }));
    std::thread stopping([&] { scout.reset(); });
    std::this_thread::sleep_for(200ms);  // into the destructor, which waits for the claim
    locker.rollback();
    stopping.join();
    std::lock_guard lock(shared->mutex);
    CHECK(shared->scouting == 0);
    CHECK(shared->in_hand() == shared->ready.size());
    CHECK(shared->ready.size() == 2);  // the first claim only: the second was never sent
    CHECK(test::scalar(base, "select count(*) from " + test::jobs_table(base) + " where state = 'running'") == "2");
  }
}
