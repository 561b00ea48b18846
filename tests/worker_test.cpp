#include <atomic>
#include <set>
#include <stdexcept>
#include <thread>

#include "support.hpp"

using namespace std::chrono_literals;

TEST_SUITE("worker") {
  TEST_CASE("a burst worker runs every pushed job once and returns") {
    auto pq = test::fresh();
    std::mutex mutex;
    std::multiset<int> seen;
    auto record = pq["w"].task("record", [&](int n) {
      std::lock_guard lock(mutex);
      seen.insert(n);
    });
    for (int i = 0; i < 500; ++i) record.push(i);
    test::LogCapture log;
    pq::Worker worker(pq, test::burst({"w"}, log, 8));
    worker.run();
    CHECK(seen.size() == 500);
    CHECK(std::set<int>(seen.begin(), seen.end()).size() == 500);
    CHECK(worker.stats().completed == 500);
    CHECK(worker.stats().claimed == 500);
    CHECK(test::scalar(pq, "select count(*) from " + test::jobs_table(pq) + " where state = 'completed'") == "500");
    CHECK(log.contains("started"));
    CHECK(log.contains("stopped: 500 claimed, 500 completed"));
  }

  TEST_CASE("short jobs are claimed ahead, and given back when a slow job holds every handler") {
    auto pq = test::fresh();
    std::mutex mutex;
    std::multiset<int> seen;
    auto nap = pq["ahead"].task("nap", [&](int n, int ms) {
      std::this_thread::sleep_for(std::chrono::milliseconds(ms));
      std::lock_guard lock(mutex);
      seen.insert(n);
    });
    // Short jobs teach the worker to claim ahead; the slow one then holds its only handler for longer than a
    // job claimed ahead may wait (max(1 s, lease / 10)), so those go back to the queue and run afterwards.
    for (int i = 0; i < 20; ++i) nap.push(i, 0);
    nap.push(20, 1500);
    for (int i = 21; i < 60; ++i) nap.push(i, 0);
    test::LogCapture log;
    auto options = test::burst({"ahead"}, log, 1);
    options.lease = 5s;
    pq::Worker worker(pq, options);
    worker.run();
    CHECK(seen.size() == 60);
    CHECK(std::set<int>(seen.begin(), seen.end()).size() == 60);
    const auto stats = worker.stats();
    CHECK(stats.completed == 60);
    CHECK(stats.released > 0);
    CHECK(stats.claimed == 60 + stats.released);
    CHECK(log.contains("released back to its queue"));
    CHECK(test::scalar(pq, "select count(*) from " + test::jobs_table(pq) + " where state = 'completed' and attempt = 1") == "60");
  }

  TEST_CASE("prefetch is checked up front") {
    auto pq = test::fresh();
    CHECK_THROWS_WITH_AS(pq::Worker(pq, {.queues = {"q"}, .prefetch = -1}),
                         "prefetch must be between 0 and 10000, got -1", pq::UsageError);
  }

  TEST_CASE("a failing handler is retried with backoff; moving the clock runs it again") {
    auto pq = test::fresh();
    std::atomic<int> calls{0};
    auto flaky = pq["r"].task("flaky", [&](const std::string& what) {
      if (++calls == 1) throw std::runtime_error("first time fails: " + what);
    });
    auto id = flaky.push("x");
    test::LogCapture log;
    pq::Worker(pq, test::burst({"r"}, log)).run();
    auto job = pq.job(id);
    REQUIRE(job);
    CHECK(job->state == pq::JobState::scheduled);
    CHECK(job->attempt == 1);
    CHECK(job->errors.find("first time fails: x") != std::string::npos);
    CHECK(log.contains("attempt 1/25 failed: first time fails: x; retry in"));
    // The default backoff after attempt 1 is 1 s ± 10%, measured by the database's clock.
    auto delay = std::stod(test::scalar(pq, "select extract(epoch from schedule_at - attempted_at) from " + test::jobs_table(pq) +
                                       " where id = " + std::to_string(id)));
    CHECK(delay >= 0.85);
    CHECK(delay <= 1.2);
    // Move the clock instead of waiting: the retry falls due now.
    test::exec(pq, "update " + test::jobs_table(pq) + " set schedule_at = now() where id = " + std::to_string(id));
    pq::Worker(pq, test::burst({"r"}, log)).run();
    CHECK(pq.job(id)->state == pq::JobState::completed);
    CHECK(pq.job(id)->attempt == 2);
    CHECK(calls == 2);
  }

  TEST_CASE("max attempts exhausted: failed, with every error recorded") {
    auto pq = test::fresh();
    std::atomic<int> calls{0};
    auto doomed = pq["f"].task(
        "doomed", [&] { throw std::runtime_error("boom " + std::to_string(++calls)); },
        {.max_attempts = 3, .retry_in = 0ms});
    auto id = doomed.push();
    test::LogCapture log;
    // Without a scheduler, the burst worker promotes its own queue's due retries.
    pq::Worker(pq, test::burst({"f"}, log)).run();
    auto job = pq.job(id);
    REQUIRE(job);
    CHECK(job->state == pq::JobState::failed);
    CHECK(job->attempt == 3);
    CHECK(job->finished_at.has_value());
    CHECK(calls == 3);
    auto errors = pq::Json::parse(job->errors).as_array();
    REQUIRE(errors.size() == 3);
    for (int i = 0; i < 3; ++i) {
      CHECK(errors[i]["attempt"].as_int() == i + 1);
      CHECK(errors[i]["error"].as_string() == "boom " + std::to_string(i + 1));
      CHECK(!errors[i]["at"].as_string().empty());
    }
    CHECK(log.contains("attempt 3/3 failed for good: boom 3"));
  }

  TEST_CASE("kinds without a handler stay available for a worker that has one; undecodable arguments fail at once") {
    auto pq = test::fresh();
    pq["u"].task("known", [](int) {});
    auto unknown = pq["u"].put(R"({"args":[]})", {.kind = "nope"});
    auto plain = pq["u"].put(R"({"n":1})");
    auto bad_args = pq["u"].put(R"({"args":["not a number"]})", {.kind = "known"});
    test::LogCapture log;
    pq::Worker worker(pq, test::burst({"u"}, log));
    worker.run();
    for (auto id : {unknown, plain}) {
      auto job = pq.job(id);
      CHECK(job->state == pq::JobState::available);
      CHECK(job->attempt == 0);
    }
    auto second = pq.job(bad_args);
    CHECK(second->state == pq::JobState::failed);
    CHECK(second->attempt == 1);
    CHECK(second->errors.find("argument 1: expected an integer, got string") != std::string::npos);
    CHECK(worker.stats().failed == 1);
    CHECK(worker.stats().claimed == 1);

    // A newer worker that knows the kind runs it.
    pq["u"].task("nope", [] {});
    pq::Worker(pq, test::burst({"u"}, log)).run();
    CHECK(pq.job(unknown)->state == pq::JobState::completed);
    CHECK(pq.job(plain)->state == pq::JobState::available);  // a plain job is for get(), never a worker's
  }

  TEST_CASE("a queue without any handler is named at start: a warning, or an error when no queue has one") {
    auto pq = test::fresh();
    pq["apples"].task("eat", [] {});
    test::LogCapture log;
    pq::Worker typo(pq, test::burst({"pears"}, log));
    CHECK_THROWS_WITH_AS(typo.run(), doctest::Contains("no task is registered for queue 'pears'"), pq::UsageError);
    pq::Worker(pq, test::burst({"apples", "pears"}, log)).run();
    CHECK(log.contains("no task is registered for queue 'pears': the worker claims nothing there"));
  }

  TEST_CASE("attempts: the job's max_attempts capped by its handler's, whoever put the job") {
    auto pq = test::fresh();
    std::atomic<int> calls{0};
    pq["m"].task("flaky", [&] { throw std::runtime_error("flaky " + std::to_string(++calls)); },
                 {.max_attempts = 2, .retry_in = 0ms});
    auto by_others = pq["m"].put(R"({"args":[]})", {.kind = "flaky"});  // the row says 25
    auto lower_row = pq["m"].put(R"({"args":[]})", {.max_attempts = 1, .kind = "flaky"});
    test::LogCapture log;
    pq::Worker(pq, test::burst({"m"}, log)).run();
    CHECK(pq.job(by_others)->state == pq::JobState::failed);
    CHECK(pq.job(by_others)->attempt == 2);
    CHECK(pq.job(lower_row)->state == pq::JobState::failed);
    CHECK(pq.job(lower_row)->attempt == 1);
    CHECK(calls == 3);
    CHECK(log.contains("attempt 2/2 failed for good"));
    CHECK(log.contains("attempt 1/1 failed for good"));
  }

  TEST_CASE("a job past its timeout is recorded at once; its handler keeps its slot, and its retry never runs beside it") {
    auto pq = test::fresh();
    std::mutex mutex;
    int active = 0, most_active = 0;
    std::vector<std::pair<int, char>> events;  // (attempt, 's'tart or 'e'nd) in order
    auto track = [&](int attempt, char what) {
      std::lock_guard lock(mutex);
      active += what == 's' ? 1 : -1;
      most_active = std::max(most_active, active);
      events.emplace_back(attempt, what);
    };
    auto deaf = pq["t"].task(
        "deaf",
        [&](pq::Context& context) {
          track(context.attempt(), 's');
          std::this_thread::sleep_for(1500ms);  // ignores its stop token
          track(context.attempt(), 'e');
        },
        {.max_attempts = 2, .retry_in = 0ms, .timeout = 200ms});
    std::atomic<int> quick{0};
    auto fast = pq["t"].task("fast", [&] {
      track(0, 's');
      ++quick;
      track(0, 'e');
    });
    auto id = deaf.push();
    for (int i = 0; i < 5; ++i) fast.push();
    test::LogCapture log;
    pq::Worker worker(pq, {.queues = {"t"}, .concurrency = 2, .handle_signals = false, .log = log.sink()});
    std::thread stopper([&] {
      CHECK(test::wait_until([&] { return pq.job(id)->state == pq::JobState::failed; }));
      CHECK(test::wait_until([&] { return events.size() >= 14; }));  // both runs of it have returned
      worker.stop();
    });
    worker.run();
    stopper.join();
    auto job = pq.job(id);
    CHECK(job->attempt == 2);
    CHECK(job->errors.find("timed out after 200 ms") != std::string::npos);
    CHECK(quick == 5);
    CHECK(most_active <= 2);  // concurrency 2 holds, timed out or not
    std::vector<std::pair<int, char>> deaf_events;
    for (const auto& event : events) {
      if (event.first > 0) deaf_events.push_back(event);
    }
    const std::vector<std::pair<int, char>> one_after_the_other{{1, 's'}, {1, 'e'}, {2, 's'}, {2, 'e'}};
    CHECK(deaf_events == one_after_the_other);
    CHECK(worker.stats().released == 0);  // its retry was not claimed while the first run went on
    CHECK(log.contains("timed out after 200 ms; asking its handler to stop"));
  }

  TEST_CASE("a burst worker does not wait for a timed-out handler that does not return") {
    auto pq = test::fresh();
    // Shared with the handler by value: its thread outlives this test.
    auto ended = std::make_shared<std::atomic<bool>>(false);
    auto stuck = pq["stuck"].task(
        "stuck",
        [ended] {
          std::this_thread::sleep_for(3s);
          *ended = true;
        },
        {.max_attempts = 1, .timeout = 200ms});
    auto id = stuck.push();
    test::LogCapture log;
    pq::Worker(pq, test::burst({"stuck"}, log, 1)).run();
    CHECK(!ended->load());
    CHECK(pq.job(id)->state == pq::JobState::failed);
  }

  TEST_CASE("a transactional task's writes and its completion commit together, or neither") {
    auto pq = test::fresh();
    const auto effects = "\"" + pq.options().schema + "\".effects";
    test::exec(pq, "create table " + effects + " (job bigint, n int)");
    auto write = pq["tx"].task(
        "write",
        [&](pq::Context& context, int n) {
          context.transaction().exec("insert into " + effects + " values ($1, $2)", {context.job().id, n});
          if (n < 0) throw std::runtime_error("negative");
        },
        {.max_attempts = 2, .retry_in = 0ms, .transactional = true});
    auto good = write.push(1);
    auto bad = write.push(-1);
    test::LogCapture log;
    pq::Worker(pq, test::burst({"tx"}, log)).run();
    CHECK(pq.job(good)->state == pq::JobState::completed);
    CHECK(pq.job(bad)->state == pq::JobState::failed);
    CHECK(pq.job(bad)->attempt == 2);
    CHECK(test::scalar(pq, "select count(*) from " + effects + " where job = " + std::to_string(good)) == "1");
    CHECK(test::scalar(pq, "select count(*) from " + effects + " where job = " + std::to_string(bad)) == "0");
  }

  TEST_CASE("stop: running jobs get the grace period, then go back to available; nothing stays running") {
    auto pq = test::fresh();
    std::atomic<int> started{0};
    auto stubborn = pq["g"].task("stubborn", [&] {
      ++started;
      std::this_thread::sleep_for(3s);  // ignores the stop request
    });
    auto polite = pq["g"].task("polite", [&](pq::Context& context) {
      ++started;
      while (!context.stop_requested()) std::this_thread::sleep_for(5ms);
    });
    for (int i = 0; i < 2; ++i) stubborn.push();
    for (int i = 0; i < 2; ++i) polite.push();
    for (int i = 0; i < 4; ++i) stubborn.push();  // never started: 4 slots only
    test::LogCapture log;
    pq::Worker worker(pq, {.queues = {"g"}, .concurrency = 4, .shutdown_grace = 200ms, .handle_signals = false,
                           .log = log.sink()});
    std::thread stopper([&] {
      REQUIRE(test::wait_until([&] { return started == 4; }));
      worker.stop();
    });
    worker.run();
    stopper.join();
    CHECK(test::scalar(pq, "select count(*) from " + test::jobs_table(pq) + " where state = 'running'") == "0");
    CHECK(test::scalar(pq, "select count(*) from " + test::jobs_table(pq) + " where state = 'available' and attempt = 0") == "8");
    CHECK(worker.stats().released == 4);  // the 4 it had claimed; the other 4 were never taken
  }

  TEST_CASE("a cancel request reaches the running handler at its next heartbeat") {
    auto pq = test::fresh();
    std::atomic<bool> running{false};
    auto waits = pq["c"].task("waits", [&](pq::Context& context) {
      running = true;
      while (!context.stop_requested()) std::this_thread::sleep_for(5ms);
      throw std::runtime_error("stopped on request");
    });
    auto id = waits.push();
    test::LogCapture log;
    pq::Worker worker(pq, {.queues = {"c"}, .concurrency = 1, .lease = 600ms, .burst = true,
                           .handle_signals = false, .log = log.sink()});
    std::thread canceller([&] {
      REQUIRE(test::wait_until([&] { return running.load(); }));
      test::exec(pq, "update " + test::jobs_table(pq) + " set cancel_requested = true where id = " + std::to_string(id));
    });
    worker.run();
    canceller.join();
    auto job = pq.job(id);
    CHECK(job->state == pq::JobState::cancelled);
    CHECK(log.contains("cancel requested; asking its handler to stop"));
    CHECK(log.contains("cancelled as requested: stopped on request"));
    CHECK(!log.contains("retry in"));
    CHECK(worker.stats().cancelled == 1);
    CHECK(worker.stats().retried == 0);
  }
}

TEST_SUITE("worker") {
  TEST_CASE("a server restart under load: the worker reconnects and loses nothing") {
    if (test::server().external()) {
      MESSAGE("PQ_TEST_DATABASE_URL names an external server, which this test cannot restart");
      return;
    }
    auto pq = test::fresh();
    std::mutex mutex;
    std::set<int> seen;
    auto work = pq["restart"].task("work", [&](int n) {
      std::this_thread::sleep_for(2ms);
      std::lock_guard lock(mutex);
      seen.insert(n);
    });
    std::vector<std::string> batch;
    for (int i = 0; i < 400; ++i) batch.push_back(R"({"args":[)" + std::to_string(i) + "]}");
    pq["restart"].put_many(batch, {.kind = "work"});
    test::LogCapture log;
    pq::Worker worker(pq, {.queues = {"restart"}, .concurrency = 4, .lease = 2s, .handle_signals = false,
                           .log = log.sink()});
    std::thread runner([&] { worker.run(); });
    REQUIRE(test::wait_until([&] {
      std::lock_guard lock(mutex);
      return seen.size() >= 50;
    }));
    test::server().restart();
    // Jobs claimed before the restart keep their leases; a scheduler rescues any whose result was lost.
    pq::Scheduler scheduler(pq, {.interval = 200ms, .leader_ttl = 2s, .handle_signals = false, .log = log.sink()});
    std::thread maintenance([&] { scheduler.run(); });
    auto completed = [&] {
      try {
        return test::scalar(pq, "select count(*) from \"" + pq.options().schema +
                                    "\".jobs where state = 'completed'") == "400";
      } catch (const pq::Error&) {
        return false;
      }
    };
    CHECK(test::wait_until(completed, 60s));
    worker.stop();
    scheduler.stop();
    runner.join();
    maintenance.join();
    CHECK(seen.size() == 400);
    CHECK(log.contains("reconnecting"));
  }
}
