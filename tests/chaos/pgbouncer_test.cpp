// Behind PgBouncer in transaction pooling mode, with LISTEN and named prepared statements off (PgBouncer
// 1.18 supports neither there): everything pq does must work without session state, through a pool of two
// server connections shared by every client.
#include <signal.h>

#include <atomic>
#include <set>

#include "chaos.hpp"
#include "pgbouncer.hpp"

using namespace std::chrono_literals;

namespace {

constexpr int kServerConnections = 2;

auto bounced(const std::string& schema) -> pq::ConnectionOptions {
  return {.schema = schema, .listen = false, .prepare = false, .poll_interval = 200ms};
}

}  // namespace

TEST_SUITE("pgbouncer") {
  TEST_CASE("put, get, transactions, a worker and the scheduler work through PgBouncer in transaction mode") {
    REQUIRE_MESSAGE(!test::server().external(), "the test reads its server's log, so it needs a throwaway one");
    chaos::PgBouncer bouncer(test::server(), kServerConnections);
    const auto schema = pq::testing::unique_name("b");
    pq::PQ pq{bouncer.url(), bounced(schema)};
    CHECK(pq.create() == pq::PQ::latest_schema_version());
    CHECK(pq.create() == pq::PQ::latest_schema_version());
    pq::PQ direct{test::server().url(), {.schema = schema}};  // for checks that must not go through the pooler

    SUBCASE("put, put_many, get, and get in a transaction") {
      auto q = pq["bounced"];
      auto id = q.put(R"({"n":1})");
      CHECK(q.put_many(std::vector<std::string>(100, "{}")).size() == 100);
      auto job = q.get(0s);
      REQUIRE(job);
      CHECK(job->id == id);
      {
        auto tx = pq.begin();
        auto in_tx = q.get(tx, 0s);
        REQUIRE(in_tx);
        tx.commit();
        CHECK(pq.job(in_tx->id)->state == pq::JobState::completed);
      }
      {
        auto tx = pq.begin();
        auto rolled_back = q.get(tx, 0s);
        REQUIRE(rolled_back);
        tx.rollback();
        CHECK(pq.job(rolled_back->id)->state == pq::JobState::available);
      }
      // Without LISTEN, polling finds a job put while a get waits, and a delayed job when it falls due.
      std::thread producer([&] {
        std::this_thread::sleep_for(300ms);
        pq["later"].put(R"({"late":true})");
      });
      CHECK(pq["later"].get(30s));
      producer.join();
      pq["later"].put("{}", {.schedule_at = 300ms});
      CHECK(pq["later"].get(30s));
    }

    SUBCASE("32 clients share two server connections and take every job once") {
      constexpr int kJobs = 2000;
      pq["many"].put_many(std::vector<std::string>(kJobs, "{}"));
      std::mutex mutex;
      std::multiset<std::int64_t> taken;
      std::vector<std::thread> clients;
      for (int c = 0; c < 32; ++c) {
        clients.emplace_back([&] {
          pq::PQ own{bouncer.url(), bounced(schema)};
          std::vector<std::int64_t> mine;
          while (auto job = own["many"].get(0s)) mine.push_back(job->id);
          std::lock_guard lock(mutex);
          taken.insert(mine.begin(), mine.end());
        });
      }
      for (auto& client : clients) client.join();
      CHECK(taken.size() == kJobs);
      CHECK(std::set<std::int64_t>(taken.begin(), taken.end()).size() == kJobs);
    }

    SUBCASE("an in-process worker runs leased and transactional tasks; the scheduler leads, promotes, rescues") {
      const auto effects = chaos::table(pq, "effects");
      chaos::rows(direct, "create table " + effects + " (job bigint)");
      std::atomic<int> leased{0};
      auto plain = pq["work"].task("plain", [&] { ++leased; });
      auto written = pq["work"].task(
          "written", [&](pq::Context& context) { context.transaction().exec("insert into " + effects + " values ($1)", {context.job().id}); },
          {.transactional = true});
      for (int i = 0; i < 100; ++i) {
        plain.push();
        written.push();
      }
      test::LogCapture log;
      pq::Worker(pq, test::burst({"work"}, log, 8)).run();
      CHECK(leased == 100);
      CHECK(chaos::number(direct, "select count(distinct job) from " + effects) == 100);
      CHECK(chaos::number(direct, "select count(*) from " + chaos::table(pq, "jobs") + " where state = 'completed'") == 200);

      pq::Scheduler scheduler(pq, {.interval = 100ms, .leader_ttl = 2s, .handle_signals = false, .log = log.sink()});
      pq::Scheduler standby(pq, {.interval = 100ms, .leader_ttl = 2s, .handle_signals = false, .log = log.sink()});
      CHECK(scheduler.run_once());
      CHECK_FALSE(standby.run_once());
      auto due = pq["work"].put("{}", {.schedule_at = 200ms});
      auto stuck = pq["work"].put("{}");
      chaos::rows(direct, "update " + chaos::table(pq, "jobs") + " set state = 'running', attempt = 1, locked_by = 'gone', "
                                                                 "lease_until = now() - interval '1 second' where id = " + std::to_string(stuck));
      CHECK(chaos::eventually([&] {
        scheduler.run_once();
        // The rescued job is due at once, so the same round promotes it too.
        return pq.job(due)->state == pq::JobState::available && pq.job(stuck)->state == pq::JobState::available;
      }, 30s));
      CHECK(pq.job(stuck)->errors.find("lease expired") != std::string::npos);
    }

    SUBCASE("pq-worker and pq-scheduler processes with --no-listen and --no-prepare") {
      const auto runs = chaos::table(pq, "runs");
      chaos::rows(direct, "create table " + runs + " (job bigint, attempt int, pid int)");
      pq["soak"].put_many(std::vector<std::string>(200, chaos::args(runs, 0)), {.kind = "leased"});
      auto worker = chaos::worker(bouncer.url(), pq, "soak", {"--no-listen", "--no-prepare", "--burst"},
                                  test::scratch("worker.log"));
      CHECK(worker->wait(120s) == 0);
      CAPTURE(worker->output());
      CHECK(chaos::number(direct, "select count(distinct job) from " + runs) == 200);
      test::Child scheduler(test::pq_command("PQ_SCHEDULER_BIN", bouncer.url(), schema,
                                             {"--no-prepare", "--interval", "0.1", "--leader-ttl", "1"}),
                            {}, test::scratch("scheduler.log"));
      CHECK(chaos::eventually([&] { return scheduler.output().find("is the leader") != std::string::npos; }, 30s));
      scheduler.signal(SIGTERM);
      CHECK(scheduler.wait(30s) == 0);
      CHECK(scheduler.output().find("round failed") == std::string::npos);
    }

    // Nothing failed on the server side (a prepared statement, LISTEN or session setting that did not carry
    // over would have), and the pooler never opened more than its two server connections.
    auto server_log = test::read_file(test::server().directory() + "/server.log");
    CHECK(server_log.find("ERROR:") == std::string::npos);
    CAPTURE(bouncer.log());
    CHECK(bouncer.log().find("ERROR") == std::string::npos);
    CHECK(chaos::number(direct, "select count(*) from pg_stat_activity where client_addr is not null") <=
          kServerConnections);
  }
}
