// Listener faults: the server ends the connection a consumer listens on, or every connection of a worker.
// Jobs keep flowing: a consumer that loses its listener reconnects and claims at once, without waiting for
// a poll (the poll interval here is an hour, so only that catch-up can find the jobs).
#include <atomic>

#include "chaos.hpp"

using namespace std::chrono_literals;

namespace {

constexpr auto kNoPolling = std::chrono::hours(1);

auto terminate(pq::PQ& pq, const std::string& application, const std::string& condition = "true") -> std::int64_t {
  return chaos::number(pq, "select count(pg_terminate_backend(pid)) from pg_stat_activity where application_name = '" +
                               application + "' and (" + condition + ")");
}

// A consumer listens and sleeps on the session it last promoted its queue's due jobs on (queue/promote_queue),
// which is how the test finds that session among the others of the same program.
constexpr const char* kListening = "query like '%state = ''scheduled'' AND queue = $1%'";

auto listeners(pq::PQ& pq, const std::string& application) -> std::int64_t {
  return chaos::backends(pq, application, kListening);
}

}  // namespace

TEST_SUITE("listener") {
  TEST_CASE("a worker whose listening connection is terminated reconnects and claims what came meanwhile") {
    auto pq = test::fresh();
    // A role of its own lets the test keep the worker from reconnecting while jobs arrive.
    chaos::rows(pq, "create role listener_worker login superuser");
    pq::PQ own{test::tagged(test::server().url(), "lw") + " user=listener_worker",
               {.schema = pq.options().schema, .poll_interval = kNoPolling}};
    std::atomic<int> done{0};
    own["listen"].task("count", [&] { ++done; });
    test::LogCapture log;
    pq::Worker worker(own, {.queues = {"listen"}, .concurrency = 4, .lease = 3s, .handle_signals = false,
                            .log = log.sink()});
    std::thread runner([&] { worker.run(); });
    auto put = [&](int n) {
      for (int i = 0; i < n; ++i) pq["listen"].put(chaos::args(), {.kind = "count"});
    };
    REQUIRE(chaos::eventually([&] { return listeners(pq, "lw") == 1; }, 30s));
    put(10);
    CHECK(chaos::eventually([&] { return done == 10; }, 30s));  // woken by NOTIFY

    chaos::rows(pq, "alter role listener_worker nologin");
    CHECK(terminate(pq, "lw", kListening) == 1);
    CHECK(chaos::eventually([&] { return log.contains("not permitted to log in"); }, 30s));
    put(10);  // nobody listens now
    chaos::rows(pq, "alter role listener_worker login");
    CHECK(chaos::eventually([&] { return done == 20; }, 30s));
    CHECK(chaos::eventually([&] { return listeners(pq, "lw") == 1; }, 30s));
    put(10);
    CHECK(chaos::eventually([&] { return done == 30; }, 30s));  // NOTIFY wakes it again

    // Every connection of the worker at once: the listener, and the completer's and pooled sessions if it has
    // opened them (its completions ride in the fetcher's claims, so the completer may have had nothing to do).
    CHECK(terminate(pq, "lw") >= 1);
    put(10);
    CHECK(chaos::eventually([&] { return done == 40; }, 30s));
    worker.stop();
    runner.join();
    CHECK(chaos::number(pq, "select count(*) from " + chaos::table(pq, "jobs") + " where state = 'completed'") == 40);
    CHECK(worker.stats().lost == 0);
  }

  TEST_CASE("a blocking get whose listening connection is terminated keeps waiting and gets the job") {
    auto pq = test::fresh();
    pq::PQ consumer{test::tagged(test::server().url(), "lg"),
                    {.schema = pq.options().schema, .poll_interval = kNoPolling}};
    for (bool transactional : {false, true}) {
      CAPTURE(transactional);
      std::optional<pq::Job> got;
      std::string failure;
      std::thread getter([&] {
        try {
          if (transactional) {
            auto tx = consumer.begin();
            got = consumer["g"].get(tx, 60s);
            tx.commit();
          } else {
            got = consumer["g"].get(60s);
          }
        } catch (const pq::Error& error) {
          failure = error.what();
        }
      });
      REQUIRE(chaos::eventually([&] { return listeners(pq, "lg") == 1; }, 30s));
      CHECK(terminate(pq, "lg", kListening) == 1);
      auto id = pq["g"].put("{}");
      getter.join();
      CHECK(failure == "");
      REQUIRE(got);
      CHECK(got->id == id);
    }
  }
}
