#include <atomic>
#include <mutex>
#include <set>
#include <thread>
#include <vector>

#include "support.hpp"

using namespace std::chrono_literals;

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
}
