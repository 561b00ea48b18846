// NOTIFY hygiene: a notification is a short hint per queue and transaction at most, however many jobs; and a
// listener that stops reading cannot make enqueues fail.
#include <algorithm>
#include <atomic>

#include "chaos.hpp"
#include "pg/session.hpp"
#include "pg/statements.hpp"

using namespace std::chrono_literals;

namespace {

// The queue of every notification until each of `expected` has come (pq sends them after the commits, from a thread of
// its own), then up to a marker that the test sends last: delivery follows commit order, so any extra
// notification of those commits is in by then.
auto drain(pq::pg::Session& listener, pq::PQ& pq, std::vector<std::string> expected) -> std::vector<std::string> {
  std::vector<std::string> payloads;
  bool marked = false;
  const auto deadline = std::chrono::steady_clock::now() + 60s;
  while (std::chrono::steady_clock::now() < deadline) {
    if (!marked && std::all_of(expected.begin(), expected.end(), [&](const auto& queue) {
          return std::find(payloads.begin(), payloads.end(), queue) != payloads.end();
        })) {
      chaos::rows(pq, "select pg_notify('" + pq::pg::channel_of(pq.options().schema) + "', 'end of test')");
      marked = true;
    }
    for (auto& payload : listener.wait(std::min(deadline, std::chrono::steady_clock::now() + 100ms)).payloads) {
      if (payload == "end of test") return payloads;
      // New jobs without a priority or expected_at of their own: the queue and their lowest id.
      const auto notified = pq::pg::parse_payload(payload);
      CHECK_FALSE(notified.before);
      CHECK(notified.first_id > 0);
      payloads.push_back(notified.queue);
    }
  }
  FAIL("not every notification came");
  return payloads;
}

}  // namespace

TEST_SUITE("notify") {
  TEST_CASE("bulk puts of 100,000 jobs send one notification per queue per transaction, each a queue and an id") {
    auto pq = test::fresh();
    pq::pg::Session listener(test::server().url());
    listener.listen(pq::pg::channel_of(pq.options().schema));
    const std::string longest(128, 'q');  // the longest queue name is the longest payload
    const std::vector<std::string> chunk(10000, R"({"n":1})");
    {
      auto tx = pq.begin();
      for (int i = 0; i < 10; ++i) pq["bulk"].put_many(tx, chunk);
      for (int i = 0; i < 100; ++i) pq[longest].put(tx, "{}");
      pq["later"].put(tx, "{}", {.schedule_at = 1h});  // not available yet: nothing to wake anyone for
      tx.commit();
    }
    pq["single"].put_many(std::vector<std::string>(100000, "{}"));
    std::vector<std::string> expected{"bulk", longest, "single"};
    auto payloads = drain(listener, pq, expected);
    std::sort(payloads.begin(), payloads.end());
    CHECK(payloads == expected);
    CHECK(chaos::number(pq, "select count(*) from " + chaos::table(pq, "jobs")) == 200101);
    MESSAGE("notify: 200,101 jobs in 2 transactions sent " << payloads.size() << " notifications, the longest at "
                                                             << "most " << longest.size() + 1 + 20
                                                             << " bytes (limit 8000)");
  }

  TEST_CASE("a listener idle in a transaction does not make 100,000 enqueues fail") {
    constexpr int kThreads = 8;
    constexpr int kPerThread = 12500;
    auto pq = test::fresh();
    pq::pg::Session stuck(test::server().url());
    stuck.listen(pq::pg::channel_of(pq.options().schema));
    stuck.exec_script("BEGIN; SELECT 1", "stuck");  // holds the notification queue's tail from now on
    std::atomic<int> failures{0};
    std::vector<std::thread> producers;
    for (int t = 0; t < kThreads; ++t) {
      producers.emplace_back([&] {
        pq::PQ own{test::server().url(), {.schema = pq.options().schema, .max_connections = 1}};
        for (int i = 0; i < kPerThread; ++i) {
          try {
            own["busy"].put("{}");  // one transaction each, and a notification for most
          } catch (const pq::Error& error) {
            if (failures++ == 0) MESSAGE(error.what());
          }
        }
      });
    }
    for (auto& producer : producers) producer.join();
    CHECK(failures == 0);
    CHECK(chaos::number(pq, "select count(*) from " + chaos::table(pq, "jobs")) == kThreads * kPerThread);
    const auto held = chaos::value(pq, "select pg_notification_queue_usage()");
    CHECK(std::stod(held) > 0);  // the notifications are really piling up behind the stuck listener
    stuck.exec_script("COMMIT", "stuck");
    CHECK(stuck.wait(std::chrono::steady_clock::now() + 30s).payloads.size() > 0);
    MESSAGE("notify: " << kThreads * kPerThread << " enqueues, each its own transaction, behind a listener idle in "
                       << "a transaction: " << failures.load() << " failed; pg_notification_queue_usage() " << held);
  }
}
