// The worker's limits and its life in a process: transactional timeouts, its pool, its own rescues, burst
// waits, results the database refuses, start-up failures, and signals.
#include <signal.h>
#include <unistd.h>

#include <atomic>
#include <memory>
#include <stdexcept>
#include <thread>

#include "support.hpp"

using namespace std::chrono_literals;

namespace {

auto effects_table(pq::PQ& pq) -> std::string {
  const auto table = "\"" + pq.options().schema + "\".effects";
  test::exec(pq, "create table " + table + " (job bigint, n int)");
  return table;
}

}  // namespace

TEST_SUITE("worker") {
  TEST_CASE("a transactional task's timeout covers time inside SQL, and a run past it never commits") {
    auto pq = test::fresh();
    const auto effects = effects_table(pq);
    auto sql = pq["ts"].task(
        "sql",
        [&](pq::Context& context, int seconds) {
          context.transaction().exec("insert into " + effects + " values ($1, 1)", {context.job().id});
          context.transaction().exec("select pg_sleep($1)", {seconds});
        },
        {.max_attempts = 1, .timeout = 500ms, .transactional = true});
    auto late = pq["ts"].task(
        "late",
        [&](pq::Context& context) {
          context.transaction().exec("insert into " + effects + " values ($1, 2)", {context.job().id});
          std::this_thread::sleep_for(1200ms);  // past the timeout, in C++, ignoring the stop token
        },
        {.max_attempts = 1, .timeout = 500ms, .transactional = true});
    auto slow_sql = sql.push(30);
    auto slow_cpp = late.push();
    test::LogCapture log;
    pq::Worker(pq, test::burst({"ts"}, log, 2)).run();
    auto first = pq.job(slow_sql);
    CHECK(first->state == pq::JobState::failed);
    CHECK(first->errors.find("statement timeout") != std::string::npos);
    auto second = pq.job(slow_cpp);
    CHECK(second->state == pq::JobState::failed);
    CHECK(second->errors.find("timed out after 500 ms") != std::string::npos);
    CHECK(test::scalar(pq, "select count(*) from " + effects) == "0");
  }

  TEST_CASE("a transactional job still running at shutdown rolls back, even when its handler returns later") {
    auto pq = test::fresh();
    const auto effects = effects_table(pq);
    // Shared with the handler by value: its thread outlives run().
    auto started = std::make_shared<std::atomic<bool>>(false);
    auto returned = std::make_shared<std::atomic<bool>>(false);
    auto slow = pq["late"].task(
        "slow",
        [effects, started, returned](pq::Context& context) {
          context.transaction().exec("insert into " + effects + " values ($1, 1)", {context.job().id});
          *started = true;
          std::this_thread::sleep_for(1500ms);  // ignores its stop token
          *returned = true;
        },
        {.transactional = true});
    auto id = slow.push();
    test::LogCapture log;
    pq::Worker worker(pq, {.queues = {"late"}, .shutdown_grace = 100ms, .handle_signals = false, .log = log.sink()});
    std::thread stopper([&] {
      REQUIRE(test::wait_until([&] { return started->load(); }));
      worker.stop();
    });
    worker.run();
    stopper.join();
    CHECK(log.contains("still running in its transaction at shutdown; it rolls back"));
    REQUIRE(test::wait_until([&] { return returned->load(); }));
    std::this_thread::sleep_for(200ms);  // time for a commit, if one were coming
    CHECK(test::scalar(pq, "select count(*) from " + effects) == "0");
    CHECK(pq.job(id)->state != pq::JobState::completed);
  }

  TEST_CASE("results the database cannot take for a reason other than their data are kept and written later") {
    auto pq = test::fresh();
    std::atomic<bool> go{false};
    auto wait = pq["ro"].task("wait", [&] {
      while (!go) std::this_thread::sleep_for(5ms);
    });
    for (int i = 0; i < 3; ++i) wait.push();
    // As a read-only server, a full disk or a statement timeout would: the statement fails, not for its rows.
    const auto schema = "\"" + pq.options().schema + "\"";
    test::exec(pq, "create function " + schema + ".not_now() returns trigger language plpgsql as $$ begin "
                   "raise exception 'not now' using errcode = '25006'; end $$");
    test::exec(pq, "create trigger not_now before update on " + schema + ".jobs for each row when "
                   "(new.state = 'completed') execute function " + schema + ".not_now()");
    test::LogCapture log;
    auto options = test::burst({"ro"}, log, 3);
    options.rescue = false;
    pq::Worker worker(pq, options);
    std::thread unblock([&] {
      REQUIRE(test::wait_until([&] { return worker.stats().claimed == 3; }));
      go = true;
      CHECK(test::wait_until([&] { return log.contains("cannot write "); }));
      test::exec(pq, "drop trigger not_now on " + schema + ".jobs");
    });
    worker.run();
    unblock.join();
    CHECK(worker.stats().completed == 3);
    CHECK(worker.stats().lost == 0);
    CHECK(test::scalar(pq, "select count(*) from " + test::jobs_table(pq) + " where state = 'completed'") == "3");
  }

  TEST_CASE("transactional jobs waiting for a pooled connection keep their leases") {
    pq::ConnectionOptions options;
    options.max_connections = 2;
    auto pq = test::fresh(options);
    const auto effects = effects_table(pq);
    auto hold = pq["pool"].task(
        "hold",
        [&](pq::Context& context) {
          context.transaction().exec("insert into " + effects + " values ($1, 1)", {context.job().id});
          std::this_thread::sleep_for(900ms);
        },
        {.max_attempts = 1, .transactional = true});
    for (int i = 0; i < 6; ++i) hold.push();
    test::LogCapture log;
    auto worker_options = test::burst({"pool"}, log, 6);
    worker_options.lease = 600ms;  // shorter than the wait of the jobs queued behind the two connections
    worker_options.rescue = false;
    pq::Worker worker(pq, worker_options);
    // A rescuer that runs all the time takes any lease the moment it lapses.
    std::atomic<bool> done{false};
    std::thread rescuer([&] {
      pq::Rescuer rescue(pq::PQ{test::server().url(), {.schema = pq.options().schema}});  // a pool of its own
      while (!done) {
        rescue.run_once();
        std::this_thread::sleep_for(50ms);
      }
    });
    worker.run();
    done = true;
    rescuer.join();
    CHECK(worker.stats().completed == 6);
    CHECK(worker.stats().lost == 0);
    CHECK(test::scalar(pq, "select count(*) from " + test::jobs_table(pq) + " where state = 'completed' and attempt = 1") == "6");
    CHECK(test::scalar(pq, "select count(*) from " + effects) == "6");
    CHECK(log.contains("concurrency 6 is more than the pool's 2 connections"));
  }

  TEST_CASE("a worker rescues its own queues' expired leases, without pq-scheduler") {
    auto pq = test::fresh();
    std::atomic<int> runs{0};
    auto work = pq["r"].task("work", [&] { ++runs; });
    auto orphan = work.push();
    auto elsewhere = pq["other"].put(R"({"args":[]})", {.kind = "work"});
    const std::string dead = "state = 'running', attempt = 1, attempted_at = now() - interval '1 minute', "
                             "lease_until = now() - interval '10 seconds', locked_by = 'dead-worker'";
    test::force_job(pq, orphan, dead);
    test::force_job(pq, elsewhere, dead);
    test::LogCapture log;
    pq::Worker(pq, test::burst({"r"}, log)).run();
    CHECK(pq.job(orphan)->state == pq::JobState::completed);
    CHECK(pq.job(orphan)->attempt == 2);
    CHECK(pq.job(orphan)->errors.find("lease expired") != std::string::npos);
    CHECK(runs == 1);
    CHECK(pq.job(elsewhere)->state == pq::JobState::running);  // not one of its queues
    CHECK(log.contains("after its lease expired at attempt 1: now scheduled"));
  }

  // The rescue is the completer's, off the path of the claims: a worker whose slots are all busy, so that its
  // fetcher never runs dry, still rescues, and runs the job once a slot frees.
  TEST_CASE("a worker with every slot busy rescues a dead worker's job, and runs it once a slot frees") {
    auto pq = test::fresh();
    std::atomic<bool> release{false};
    std::atomic<bool> holding{false};
    std::atomic<int> orphan_runs{0};
    auto hold = pq["busy"].task("hold", [&] {
      holding = true;
      while (!release) std::this_thread::sleep_for(10ms);
    });
    auto work = pq["busy"].task("work", [&] { ++orphan_runs; });
    auto orphan = work.push();
    test::force_job(pq, orphan, "state = 'running', attempt = 1, attempted_at = now() - interval '1 minute', "
                                "lease_until = now() - interval '10 seconds', locked_by = 'dead-worker'");
    hold.push();
    test::LogCapture log;
    pq::Worker worker(pq, {.queues = {"busy"}, .concurrency = 1, .prefetch = 0, .handle_signals = false,
                           .log = log.sink()});
    std::thread working([&] { worker.run(); });
    CHECK(test::wait_until([&] { return holding.load(); }));
    CHECK(test::wait_until([&] { return pq.job(orphan)->state == pq::JobState::scheduled; }));
    CHECK(holding);
    CHECK(orphan_runs == 0);
    release = true;
    CHECK(test::wait_until([&] { return pq.job(orphan)->state == pq::JobState::completed; }));
    worker.stop();
    working.join();
    CHECK(orphan_runs == 1);
    CHECK(pq.job(orphan)->attempt == 2);
    CHECK(log.contains("after its lease expired at attempt 1: now scheduled"));
  }

  TEST_CASE("burst_wait: a burst worker waits for retries that fall due soon") {
    auto pq = test::fresh();
    std::atomic<int> calls{0};
    auto twice = pq["bw"].task("twice", [&] {
      if (++calls == 1) throw std::runtime_error("first time");
    }, {.retry_in = 400ms});
    auto id = twice.push();
    test::LogCapture log;
    pq::Worker(pq, test::burst({"bw"}, log)).run();
    CHECK(pq.job(id)->state == pq::JobState::scheduled);  // nothing available: the burst ended
    auto options = test::burst({"bw"}, log);
    options.burst_wait = 10s;
    pq::Worker(pq, options).run();
    CHECK(pq.job(id)->state == pq::JobState::completed);
    CHECK(calls == 2);
  }

  TEST_CASE("a result the database refuses for one job does not hold up the others") {
    auto pq = test::fresh();
    auto fails = pq["poison"].task("fails", [](int n) { throw std::runtime_error("failure " + std::to_string(n)); },
                                   {.retry_in = 0ms});
    auto first = fails.push(1);
    auto second = fails.push(2);
    auto third = fails.push(3);
    // One row that no retry can be written for: as if its error text were something the database refuses.
    const auto schema = "\"" + pq.options().schema + "\"";
    test::exec(pq, "create function " + schema + ".refuse() returns trigger language plpgsql as $$ begin "
                   "raise exception 'refused for the test'; end $$");
    test::exec(pq, "create trigger refuse before update on " + schema + ".jobs for each row when (new.id = " +
                   std::to_string(second) + " and new.state = 'scheduled') execute function " + schema + ".refuse()");
    test::LogCapture log;
    auto options = test::burst({"poison"}, log, 3);
    options.rescue = false;
    pq::Worker worker(pq, options);
    std::thread stopper([&] {
      // The others' retries are written, and run again; the refused one stays as it was.
      CHECK(test::wait_until([&] { return pq.job(first)->attempt >= 3 && pq.job(third)->attempt >= 3; }));
      worker.stop();
    });
    worker.run();
    stopper.join();
    CHECK(pq.job(second)->state == pq::JobState::running);
    CHECK(pq.job(second)->attempt == 1);
    CHECK(log.contains("cannot write the result of job " + std::to_string(second)));
    CHECK(worker.stats().lost >= 1);
  }

  TEST_CASE("error text that is not valid UTF-8 is stored readable and wedges nothing") {
    auto pq = test::fresh();
    auto latin1 = pq["u8"].task("latin1", [] { throw std::runtime_error("caf\xe9 failed"); }, {.max_attempts = 1});
    auto retried = pq["u8"].task("retried", [](pq::Context& context) {
      if (context.attempt() == 1) throw std::runtime_error("\xff\xfe first");
    }, {.retry_in = 0ms});
    auto ok = pq["u8"].task("ok", [] {});
    auto a = latin1.push();
    auto b = retried.push();
    auto c = ok.push();
    test::LogCapture log;
    pq::Worker worker(pq, test::burst({"u8"}, log));
    worker.run();  // returns: nothing is left unwritten
    CHECK(pq.job(a)->state == pq::JobState::failed);
    CHECK(pq.job(a)->errors.find("caf\\\\xe9 failed") != std::string::npos);  // jsonb text: the backslash escaped
    CHECK(pq.job(b)->state == pq::JobState::completed);
    CHECK(pq.job(b)->errors.find("first") != std::string::npos);
    CHECK(pq.job(c)->state == pq::JobState::completed);
    CHECK(worker.stats().failed == 1);
    CHECK(worker.stats().retried == 1);
  }

  TEST_CASE("a worker fails at start when no waiting can help: no schema, or anything at all in burst mode") {
    auto pq = test::fresh();
    pq::PQ empty{test::server().url(), {.schema = pq.options().schema + "_none"}};
    empty.registry().add({"q", "k", {}, [](pq::Context&) {}});
    test::LogCapture log;
    pq::Worker no_schema(empty, {.queues = {"q"}, .handle_signals = false, .log = log.sink()});
    CHECK_THROWS_WITH_AS(no_schema.run(), doctest::Contains("is not installed or outdated"), pq::Error);

    pq::PQ nowhere{"postgresql://127.0.0.1:9/none?connect_timeout=2", {}};
    nowhere.registry().add({"q", "k", {}, [](pq::Context&) {}});
    pq::Worker burst(nowhere, test::burst({"q"}, log));
    CHECK_THROWS_AS(burst.run(), pq::Error);
  }

  TEST_CASE("several workers and a scheduler in one process all handle signals, and every one stops") {
    auto pq = test::fresh();
    pq["s1"].task("k", [] {});
    pq["s2"].task("k", [] {});
    test::LogCapture log;
    pq::Worker first(pq, {.queues = {"s1"}, .concurrency = 1, .log = log.sink()});
    pq::Worker second(pq, {.queues = {"s2"}, .concurrency = 2, .log = log.sink()});
    pq::Scheduler scheduler(pq, {.interval = 50ms, .log = log.sink()});
    std::atomic<int> returned{0};
    std::thread a([&] { first.run(); ++returned; });
    std::thread b([&] { second.run(); ++returned; });
    std::thread c([&] { scheduler.run(); ++returned; });
    // Their handlers are in place once each has logged its start.
    REQUIRE(test::wait_until([&] {
      int started = 0;
      for (const auto& line : log.lines()) started += line.find(" started") != std::string::npos ? 1 : 0;
      return started >= 3;
    }));
    ::kill(::getpid(), SIGTERM);
    CHECK(test::wait_until([&] { return returned == 3; }));
    a.join();
    b.join();
    c.join();
  }
}
