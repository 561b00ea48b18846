#include <atomic>
#include <mutex>
#include <set>
#include <thread>
#include <vector>

#include "support.hpp"

using namespace std::chrono_literals;

namespace {

// The one race in which take.sql and claim.sql find nothing although they locked a job: another transaction
// updates the job (keeping it available) and commits after the statement's snapshot, before its lock. A role
// of its own, slowed by a row-level security policy while it scans, opens that window for as long as the test
// needs; the harness's superuser connection bypasses the policy and makes the update inside the window.
class SlowScans {
 public:
  explicit SlowScans(pq::PQ& pq) : pq_(pq), role_(pq::testing::unique_name("pq_slow")) {
    const auto schema = "\"" + pq.options().schema + "\"";
    const auto jobs = test::jobs_table(pq_);
    test::exec(pq_, "create role " + role_ + " login");
    test::exec(pq_, "grant usage on schema " + schema + " to " + role_);
    test::exec(pq_, "grant select, insert, update, delete on all tables in schema " + schema + " to " + role_);
    test::exec(pq_, "create function " + schema + ".slow() returns boolean language plpgsql as "
                    "$$ begin perform pg_sleep(0.3); return true; end $$");
    test::exec(pq_, "alter table " + jobs + " enable row level security");
    test::exec(pq_, "create policy slow on " + jobs + " to " + role_ + " using (" + schema + ".slow())");
  }
  SlowScans(const SlowScans&) = delete;
  auto operator=(const SlowScans&) -> SlowScans& = delete;
  ~SlowScans() {
    try {
      test::exec(pq_, "drop owned by " + role_);
      test::exec(pq_, "drop role " + role_);
    } catch (const pq::Error&) {
      // A role left in a throwaway cluster harms nothing.
    }
  }

  /// A PQ on the same schema that connects as the slowed role.
  auto connect() const -> pq::PQ {
    return pq::PQ{test::server().url() + " user=" + role_, {.schema = pq_.options().schema}};
  }

  /// Waits until the slowed role is inside a scan, then updates job `id`, which stays available.
  /// Runs in a thread of its own, so it reports instead of throwing (a throw there would end the process).
  void update_while_scanning(std::int64_t id) noexcept {
    try {
      const bool scanning = test::wait_until([&] {
        return test::scalar(pq_, "select count(*) from pg_stat_activity where usename = " + test::literal(role_) +
                                     " and wait_event = 'PgSleep'") != "0";
      });
      CHECK(scanning);
      if (scanning) {
        test::exec(pq_, "update " + test::jobs_table(pq_) + " set priority = 1 where id = " + std::to_string(id));
      }
    } catch (const pq::Error& error) {
      FAIL_CHECK(error.what());
    }
  }

 private:
  pq::PQ& pq_;
  std::string role_;
};

}  // namespace

TEST_SUITE("concurrency") {
  TEST_CASE("many threads with their own connections take every job exactly once") {
    auto pq = test::fresh();
    constexpr int kJobs = 5000;
    constexpr int kThreads = 8;
    std::vector<std::string> jobs;
    for (int i = 0; i < kJobs; ++i) jobs.push_back(std::to_string(i));
    auto ids = pq["drain"].put_many(jobs);
    REQUIRE(ids.size() == kJobs);

    std::mutex mutex;
    std::multiset<std::int64_t> seen;
    std::vector<std::thread> threads;
    for (int t = 0; t < kThreads; ++t) {
      threads.emplace_back([&] {
        pq::PQ own{test::server().url(), {.schema = pq.options().schema, .max_connections = 1}};
        auto q = own["drain"];
        std::vector<std::int64_t> mine;
        while (auto job = q.get(0s)) mine.push_back(job->id);
        std::lock_guard lock(mutex);
        seen.insert(mine.begin(), mine.end());
      });
    }
    for (auto& thread : threads) thread.join();
    CHECK(seen.size() == kJobs);
    CHECK(std::set<std::int64_t>(seen.begin(), seen.end()).size() == kJobs);
    CHECK(pq["drain"].size() == 0);
    CHECK(test::scalar(pq, "select count(*) from \"" + pq.options().schema +
                               "\".jobs where state = 'completed' and attempt = 1") == std::to_string(kJobs));
  }

  TEST_CASE("producers and blocked consumers on one shared pool lose nothing") {
    auto pq = test::fresh({.max_connections = 8});
    constexpr int kPerProducer = 500;
    std::atomic<int> taken{0};
    std::atomic<bool> done{false};
    std::vector<std::thread> threads;
    for (int c = 0; c < 4; ++c) {
      threads.emplace_back([&] {
        auto q = pq["shared"];
        while (!done) {
          if (q.get(200ms)) ++taken;
        }
      });
    }
    std::vector<std::thread> producers;
    for (int p = 0; p < 2; ++p) {
      producers.emplace_back([&] {
        auto q = pq["shared"];
        for (int i = 0; i < kPerProducer; ++i) q.put(std::to_string(i));
      });
    }
    for (auto& producer : producers) producer.join();
    CHECK(test::wait_until([&] { return taken == 2 * kPerProducer; }, 60s));
    done = true;
    for (auto& thread : threads) thread.join();
    CHECK(taken == 2 * kPerProducer);
  }

  TEST_CASE("a job updated after a take's snapshot, before its lock, is still taken") {
    auto pq = test::fresh();
    SlowScans slow(pq);
    const auto id = pq["race"].put("{}");
    std::thread updater([&] { slow.update_while_scanning(id); });
    auto taker = slow.connect();
    auto job = taker["race"].get(0s);
    updater.join();
    REQUIRE(job);
    CHECK(job->id == id);
    CHECK(job->priority == 1);
    CHECK(test::state_of(pq, id) == pq::JobState::completed);
  }

  TEST_CASE("a job updated after a claim's snapshot, before its lock, is still claimed by a worker") {
    auto pq = test::fresh();
    SlowScans slow(pq);
    const auto id = pq["race"].task("record", [](int) {}).push(7);
    std::thread updater([&] { slow.update_while_scanning(id); });
    auto taker = slow.connect();
    std::atomic<int> seen{0};
    taker["race"].task("record", [&](int n) { seen += n; });
    test::LogCapture log;
    pq::Worker(taker, test::burst({"race"}, log, 1)).run();
    updater.join();
    CHECK(seen == 7);
    CHECK(test::state_of(pq, id) == pq::JobState::completed);
  }
}
