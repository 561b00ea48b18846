// A worker's completions ride in its next claim when both are due: one transaction, and so one commit, for
// the result of one job and the claim of the next.
#include <atomic>

#include "support.hpp"

using namespace std::chrono_literals;

namespace {

// Jobs whose completion committed in the transaction that claimed another: now() is a transaction's start
// time, so the one's finished_at is the other's attempted_at.
auto completed_with_a_claim(pq::PQ& pq) -> std::int64_t {
  const auto table = test::jobs_table(pq);
  return std::stoll(test::scalar(pq, "select count(*) from " + table + " done where exists (select from " + table +
                                         " next where next.attempted_at = done.finished_at and next.id <> done.id)"));
}

// Drains `jobs` no-op jobs of `queue` with a burst worker of concurrency 1 that claims one job at a time.
void drain_one_at_a_time(pq::PQ& pq, const std::string& queue, int jobs) {
  std::atomic<int> ran{0};
  auto job = pq[queue].task("job", [&] { ++ran; });
  for (int i = 0; i < jobs; ++i) job.push();
  test::LogCapture log;
  auto options = test::burst({queue}, log, 1);
  options.prefetch = 0;
  pq::Worker worker(pq, options);
  worker.run();
  CHECK(ran == jobs);
  CHECK(worker.stats().completed == jobs);
  CHECK(worker.stats().lost == 0);
}

}  // namespace

TEST_SUITE("worker") {
  TEST_CASE("claiming one job at a time, each completion commits with the next claim") {
    constexpr int kJobs = 200;
    auto pq = test::fresh();
    drain_one_at_a_time(pq, "one", kJobs);
    CHECK(test::scalar(pq, "select count(*) from " + test::jobs_table(pq) + " where state = 'completed'") ==
          std::to_string(kJobs));
    // Every job but the last has a successor to be claimed with. A completion may still go alone now and
    // then: the fetcher was busy when its slot freed.
    const auto riding = completed_with_a_claim(pq);
    CHECK(riding >= kJobs * 9 / 10);
    MESSAGE(riding << " of " << kJobs << " completions committed with the next claim");
  }

  TEST_CASE("the last job's completion is written at once, though nothing is left to claim") {
    auto pq = test::fresh({.poll_interval = 60s});
    auto job = pq["last"].task("job", [] {});
    test::LogCapture log;
    pq::Worker worker(pq, {.queues = {"last"}, .concurrency = 1, .prefetch = 0, .handle_signals = false,
                           .log = log.sink()});
    std::thread running([&] { worker.run(); });
    for (int i = 0; i < 3; ++i) {
      const auto id = job.push();
      // A result that waited for the fetcher's next claim would wait for the minute's poll.
      CHECK(test::wait_until([&] { return test::state_of(pq, id) == pq::JobState::completed; }, 10s));
    }
    worker.stop();
    running.join();
    CHECK(worker.stats().completed == 3);
  }

  TEST_CASE("without kept history, a completion that rides in a claim deletes its job") {
    constexpr int kJobs = 50;
    auto pq = test::fresh({.keep_completed = false});
    drain_one_at_a_time(pq, "gone", kJobs);
    CHECK(test::scalar(pq, "select count(*) from " + test::jobs_table(pq)) == "0");
  }
}
