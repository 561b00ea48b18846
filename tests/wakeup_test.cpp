// Wake-ups: a put's NOTIFY goes out after its commit, in a transaction of its own, so every job put while a
// consumer sleeps must still wake it. The poll interval is a minute in these tests: a lost wake-up shows as
// a job that waited for the poll.
#include <atomic>
#include <map>
#include <mutex>
#include <random>
#include <thread>
#include <vector>

#include "support.hpp"

using namespace std::chrono_literals;

namespace {

using Clock = std::chrono::steady_clock;

constexpr int kProducers = 4;
constexpr int kPerProducer = 250;
constexpr auto kLongestWait = 5s;

// Puts kProducers * kPerProducer jobs at random spacing, numbered, in turn by plain put, by put in a
// transaction that commits, and by put_many of one; returns when each was committed. With a kind, the number
// is the task's argument.
auto put_spread(pq::PQ& pq, const std::string& queue, const std::string& kind = {})
    -> std::vector<Clock::time_point> {
  std::vector<Clock::time_point> committed(kProducers * kPerProducer);
  std::vector<std::thread> producers;
  for (int p = 0; p < kProducers; ++p) {
    producers.emplace_back([&, p] {
      std::mt19937 random(static_cast<unsigned>(p) + 1);
      std::uniform_int_distribution<int> pause_us(0, 4000);
      auto q = pq[queue];
      for (int i = 0; i < kPerProducer; ++i) {
        const int n = p * kPerProducer + i;
        std::this_thread::sleep_for(std::chrono::microseconds(pause_us(random)));
        const auto data = kind.empty() ? std::to_string(n) : R"({"args": [)" + std::to_string(n) + "]}";
        const pq::PutOptions options{.kind = kind};
        switch (i % 3) {
          case 0:
            q.put(data, options);
            break;
          case 1: {
            auto tx = pq.begin();
            q.put(tx, data, options);
            tx.commit();
            break;
          }
          default:
            q.put_many(std::vector<std::string>{data}, options);
        }
        committed[static_cast<std::size_t>(n)] = Clock::now();
      }
    });
  }
  for (auto& producer : producers) producer.join();
  return committed;
}

// Waits until `count` jobs have been taken.
auto all_taken(std::mutex& mutex, const std::map<int, Clock::time_point>& taken, std::size_t count) -> bool {
  return test::wait_until(
      [&] {
        std::lock_guard lock(mutex);
        return taken.size() == count;
      },
      60s);
}

// Each job's wait, from its commit to its taking; every one must have been taken.
auto longest_wait(const std::vector<Clock::time_point>& committed, const std::map<int, Clock::time_point>& taken)
    -> Clock::duration {
  REQUIRE(taken.size() == committed.size());
  Clock::duration longest{};
  for (const auto& [n, at] : taken) longest = std::max(longest, at - committed[static_cast<std::size_t>(n)]);
  return longest;
}

}  // namespace

TEST_SUITE("wake-up") {
  TEST_CASE("1,000 puts from 4 threads at random spacing each wake an idle blocking get") {
    auto pq = test::fresh({.poll_interval = 60s});
    pq::PQ producer{test::server().url(), {.schema = pq.options().schema}};
    std::mutex mutex;
    std::map<int, Clock::time_point> taken;
    std::atomic<bool> done{false};
    std::vector<std::thread> consumers;
    for (int c = 0; c < 2; ++c) {
      consumers.emplace_back([&] {
        // Bounded: a lost wake-up makes a get wait out its 10 s, which the check below sees.
        for (const auto until = Clock::now() + 120s; !done && Clock::now() < until;) {
          if (auto job = pq["spread"].get(10s)) {
            std::lock_guard lock(mutex);
            taken.emplace(std::stoi(job->data), Clock::now());
          }
        }
      });
    }
    const auto committed = put_spread(producer, "spread");
    CHECK(all_taken(mutex, taken, committed.size()));
    done = true;
    for (auto& consumer : consumers) consumer.join();
    const auto longest = longest_wait(committed, taken);
    CHECK(longest < kLongestWait);
    MESSAGE("the longest wait from a commit to a get: "
            << std::chrono::duration_cast<std::chrono::milliseconds>(longest).count() << " ms");
  }

  TEST_CASE("1,000 puts from 4 threads at random spacing each wake an idle Worker") {
    auto pq = test::fresh({.poll_interval = 60s});
    pq::PQ producer{test::server().url(), {.schema = pq.options().schema}};
    std::mutex mutex;
    std::map<int, Clock::time_point> taken;
    pq["spread"].task("take", [&](int n) {
      std::lock_guard lock(mutex);
      taken.emplace(n, Clock::now());
    });
    test::LogCapture log;
    pq::Worker worker(pq, {.queues = {"spread"}, .concurrency = 2, .prefetch = 0, .handle_signals = false,
                           .log = log.sink()});
    std::thread running([&] { worker.run(); });
    const auto committed = put_spread(producer, "spread", "take");
    CHECK(all_taken(mutex, taken, committed.size()));
    worker.stop();
    running.join();
    const auto longest = longest_wait(committed, taken);
    CHECK(longest < kLongestWait);
    MESSAGE("the longest wait from a commit to a handler: "
            << std::chrono::duration_cast<std::chrono::milliseconds>(longest).count() << " ms");
  }

  TEST_CASE("a put in a transaction wakes nobody until it commits, and a rolled-back one owes nothing") {
    auto pq = test::fresh({.poll_interval = 60s});
    pq::PQ producer{test::server().url(), {.schema = pq.options().schema}};
    auto q = producer["rolled"];
    {
      auto tx = producer.begin();
      q.put(tx, R"("rolled back")");
      tx.rollback();
    }
    {
      auto tx = producer.begin();
      q.put(tx, R"("dropped")");
    }  // destroyed without a commit: rolled back
    // Nothing to take, so the get sleeps: only a notification can end it before its 30 s.
    std::optional<pq::Job> got;
    std::atomic<bool> waiting{false};
    std::thread consumer([&] {
      waiting = true;
      got = pq["rolled"].get(30s);
    });
    REQUIRE(test::wait_until([&] { return waiting.load(); }));
    std::this_thread::sleep_for(300ms);
    const auto start = Clock::now();
    auto tx = producer.begin();
    const auto id = q.put(tx, R"("committed")");
    std::this_thread::sleep_for(500ms);
    CHECK_FALSE(got);  // not before the commit
    tx.commit();
    consumer.join();
    REQUIRE(got);
    CHECK(got->id == id);
    CHECK(Clock::now() - start < 15s);
    CHECK(q.size() == 0);
    CHECK(test::scalar(pq, "select count(*) from " + test::jobs_table(pq)) == "1");
  }
}
