// pq-worker and pq-scheduler as processes: commands, plugins, SIGKILL mid-job, leader failover.
#include <signal.h>

#include "process.hpp"
#include "support.hpp"

using namespace std::chrono_literals;

namespace {


auto worker_args(pq::PQ& pq, std::vector<std::string> extra) -> std::vector<std::string> {
  return test::pq_command("PQ_WORKER_BIN", test::server().url(), pq.options().schema, std::move(extra));
}

auto scheduler_args(pq::PQ& pq, std::vector<std::string> extra) -> std::vector<std::string> {
  return test::pq_command("PQ_SCHEDULER_BIN", test::server().url(), pq.options().schema, std::move(extra));
}

auto leader(pq::PQ& pq) -> std::string {
  auto tx = pq.begin();
  auto result = tx.exec("select holder from \"" + pq.options().schema + "\".leader where expires_at > now()");
  return result.rows() == 1 ? std::string(result.get(0, 0)) : "";
}

}  // namespace

TEST_SUITE("process") {
  TEST_CASE("--exec runs commands: job JSON on stdin, id, attempt and queue in the environment") {
    auto pq = test::fresh();
    auto out = test::scratch("out");
    auto q = pq["shell"];
    auto ok = q.put(R"({"fruit":"apple"})", {.kind = "save"});
    auto bad = q.put(R"({"fruit":"pear"})", {.max_attempts = 1, .kind = "fail"});
    auto slow = q.put("{}", {.max_attempts = 1, .kind = "slow"});
    auto unknown = q.put("{}", {.max_attempts = 1, .kind = "nobody"});
    REQUIRE(test::count_processes("sleep 60") == 0);  // so that the check below can only see our commands
    test::Child worker(worker_args(pq, {"--queues", "shell", "--burst", "--timeout", "1", "--max-attempts", "1",
                                        "--exec", "save=cat > " + out + "; echo \" $PQ_JOB_ID $PQ_JOB_ATTEMPT $PQ_QUEUE\" >> " + out,
                                        "--exec", "fail=echo 'no pears today' >&2; exit 3",
                                        "--exec", "slow=sleep 60 & sleep 60"}),
                       {}, test::scratch("worker.log"));
    auto code = worker.wait(60s);
    REQUIRE(code);
    CHECK(*code == 0);
    CHECK(test::read_file(out) == R"({"fruit": "apple"} )" + std::to_string(ok) + " 1 shell\n");
    CHECK(pq.job(ok)->state == pq::JobState::completed);
    auto failed = pq.job(bad);
    CHECK(failed->state == pq::JobState::failed);
    CHECK(failed->errors.find("exited with status 3: no pears today") != std::string::npos);
    auto stopped = pq.job(slow);
    CHECK(stopped->state == pq::JobState::failed);
    CHECK(stopped->errors.find("timed out after 1000 ms") != std::string::npos);
    CHECK(pq.job(unknown)->state == pq::JobState::available);  // left for a worker that knows its kind
    CHECK(pq.job(unknown)->attempt == 0);
    // The timed-out command's whole process group is gone, the background sleep too.
    CHECK(test::wait_until([] { return test::count_processes("sleep 60") == 0; }, 10s));
    CHECK(worker.output().find("worker ") != std::string::npos);
    CHECK(worker.output().find("failed for good: exited with status 3") != std::string::npos);
  }

  TEST_CASE("a plugin built by the suite registers its tasks in pq-worker") {
    auto pq = test::fresh();
    const auto table = "\"" + pq.options().schema + "\".effects";
    test::exec(pq, "create table " + table + " (job bigint, n int)");
    pq::Registry ignored;
    pq::load_plugin(test::built("PQ_PLUGIN"), ignored);  // the same entry point, loaded in-process
    CHECK(ignored.size() == 2);
    pq::PQ producer{test::server().url(), {.schema = pq.options().schema}};
    auto record = producer["plugin"].task("record", [](const std::string&, int) {});
    for (int i = 0; i < 50; ++i) record.push(table, i);
    test::Child worker(worker_args(pq, {"--plugin", test::built("PQ_PLUGIN"), "--queues", "plugin", "--burst"}), {},
                       test::scratch("worker.log"));
    auto code = worker.wait(60s);
    REQUIRE(code);
    CHECK(*code == 0);
    CHECK(test::scalar(pq, "select count(distinct job) from " + table) == "50");
    CHECK(test::scalar(pq, "select count(*) from " + test::jobs_table(pq) + " where state = 'completed'") == "50");
  }

  TEST_CASE("a worker killed with SIGKILL mid-job: the scheduler rescues the job and another worker completes it") {
    auto pq = test::fresh();
    pq::PQ producer{test::server().url(), {.schema = pq.options().schema}};
    auto id = producer["plugin"].task("hang_once", [] {}).push();
    auto plugin = test::built("PQ_PLUGIN");
    test::Child first(worker_args(pq, {"--plugin", plugin, "--queues", "plugin", "--lease", "1"}), {},
                      test::scratch("first.log"));
    REQUIRE(test::wait_until([&] { return pq.job(id)->state == pq::JobState::running; }, 30s));
    first.signal(SIGKILL);
    REQUIRE(first.wait(10s));
    test::Child scheduler(scheduler_args(pq, {"--interval", "0.2", "--leader-ttl", "2"}), {}, test::scratch("sched.log"));
    // --no-rescue: the rescue is the scheduler's here (workers' own rescues are the worker suite's).
    test::Child second(worker_args(pq, {"--plugin", plugin, "--queues", "plugin", "--lease", "1", "--no-rescue"}),
                       {}, test::scratch("second.log"));
    CHECK(test::wait_until([&] { return pq.job(id)->state == pq::JobState::completed; }, 60s));
    auto job = pq.job(id);
    CHECK(job->attempt == 2);
    CHECK(job->errors.find("lease expired") != std::string::npos);
    CHECK(scheduler.output().find("rescued job " + std::to_string(id)) != std::string::npos);
    // Both stop gracefully on SIGTERM, leaving nothing running.
    second.signal(SIGTERM);
    scheduler.signal(SIGTERM);
    CHECK(second.wait(30s) == 0);
    CHECK(scheduler.wait(30s) == 0);
    CHECK(test::scalar(pq, "select count(*) from " + test::jobs_table(pq) + " where state = 'running'") == "0");
    CHECK(second.output().find("stopped:") != std::string::npos);
  }

  TEST_CASE("two pq-scheduler processes: one leads; when it dies, the standby takes over") {
    auto pq = test::fresh();
    test::Child a(scheduler_args(pq, {"--interval", "0.1", "--leader-ttl", "1"}), {}, test::scratch("a.log"));
    REQUIRE(test::wait_until([&] { return leader(pq).find(":" + std::to_string(a.pid()) + ":") != std::string::npos; }));
    test::Child b(scheduler_args(pq, {"--interval", "0.1", "--leader-ttl", "1"}), {}, test::scratch("b.log"));
    REQUIRE(test::wait_until([&] { return b.output().find("stands by") != std::string::npos; }));
    CHECK(leader(pq).find(":" + std::to_string(a.pid()) + ":") != std::string::npos);
    a.signal(SIGKILL);
    CHECK(test::wait_until([&] { return leader(pq).find(":" + std::to_string(b.pid()) + ":") != std::string::npos; },
                           30s));
    CHECK(b.output().find("is the leader") != std::string::npos);
  }

  TEST_CASE("bad command lines exit 2 with one line that says why") {
    auto pq = test::fresh();
    test::Child no_queues(worker_args(pq, {"--exec", "k=true"}), {}, test::scratch("1.log"));
    CHECK(no_queues.wait(30s) == 2);
    CHECK(no_queues.output().find("--exec needs --queues") != std::string::npos);
    test::Child bad_plugin(worker_args(pq, {"--plugin", "/nonexistent.so", "--queues", "x"}), {}, test::scratch("2.log"));
    CHECK(bad_plugin.wait(30s) == 2);
    CHECK(bad_plugin.output().find("cannot load plugin /nonexistent.so") != std::string::npos);
    test::Child bad_number(worker_args(pq, {"--concurrency", "0", "--queues", "x"}), {}, test::scratch("3.log"));
    CHECK(bad_number.wait(30s) == 2);
    test::Child both(worker_args(pq, {"--queues", "x", "--exec", "k=true", "--quiet", "--verbose"}), {},
                     test::scratch("5.log"));
    CHECK(both.wait(30s) == 2);
    CHECK(both.output().find("--quiet and --verbose") != std::string::npos);
    test::Child twice(worker_args(pq, {"--plugin", test::built("PQ_PLUGIN"), "--plugin", test::built("PQ_PLUGIN")}),
                      {}, test::scratch("6.log"));
    CHECK(twice.wait(30s) == 2);
    CHECK(twice.output().find("is already loaded") != std::string::npos);
    test::Child failing(worker_args(pq, {"--plugin", test::built("PQ_PLUGIN")}), {"PQ_TEST_PLUGIN_FAILS=1"},
                        test::scratch("9.log"));
    CHECK(failing.wait(30s) == 2);
    CHECK(failing.output().find("plugin " + test::built("PQ_PLUGIN") + " failed to register its tasks: its set-up "
                                "failed") != std::string::npos);
    test::Child nothing(worker_args(pq, {}), {}, test::scratch("7.log"));
    CHECK(nothing.wait(30s) == 2);
    CHECK(nothing.output().find("name them with --queues") != std::string::npos);
    test::Child quotes(worker_args(pq, {"--concurrency", "abc"}), {}, test::scratch("8.log"));
    CHECK(quotes.wait(30s) == 2);
    CHECK(quotes.output().find("'abc'") != std::string::npos);
    test::Child bad_lease(worker_args(pq, {"--queues", "x", "--exec", "k=true", "--lease", "soon"}), {},
                          test::scratch("10.log"));
    CHECK(bad_lease.wait(30s) == 2);
    CHECK(bad_lease.output().find("--lease") != std::string::npos);

    // pq-scheduler speaks of its own options, in its own units.
    test::Child days(scheduler_args(pq, {"--retention", "7"}), {}, test::scratch("s1.log"));
    CHECK(days.wait(30s) == 2);
    CHECK(days.output().find("--retention needs a unit, such as 7d") != std::string::npos);
    test::Child ttl(scheduler_args(pq, {"--interval", "20"}), {}, test::scratch("s2.log"));
    CHECK(ttl.wait(30s) == 2);
    CHECK(ttl.output().find("--leader-ttl (10000 ms) must be longer than --interval (20000 ms)") != std::string::npos);
    test::Child loud(scheduler_args(pq, {"--quiet", "--verbose"}), {}, test::scratch("s3.log"));
    CHECK(loud.wait(30s) == 2);
    test::Child bogus(scheduler_args(pq, {"--bogus"}), {}, test::scratch("s5.log"));
    CHECK(bogus.wait(30s) == 2);
    CHECK(bogus.output().find("'bogus'") != std::string::npos);  // plain quotes, as every terminal shows them
    test::Child help({test::built("PQ_SCHEDULER_BIN"), "--help"}, {}, test::scratch("s4.log"));
    CHECK(help.wait(30s) == 0);
    CHECK(help.output().find("(default: \"\")") == std::string::npos);
    CHECK(help.output().find("(default: 7d)") != std::string::npos);
  }

  TEST_CASE("database errors: exit 3 at start when waiting cannot help, reconnect through an outage otherwise") {
    auto pq = test::fresh();
    const std::string dead = "postgresql://u:sentinel-pw@127.0.0.1:1/x?connect_timeout=1";
    test::Child burst({test::built("PQ_WORKER_BIN"), "--db", dead, "--queues", "x", "--exec", "k=true", "--burst"},
                      {}, test::scratch("burst.log"));
    CHECK(burst.wait(30s) == 3);
    CHECK(burst.output().find("cannot connect") != std::string::npos);
    CHECK(burst.output().find("sentinel-pw") == std::string::npos);

    // A later dbname wins, in a connection string and in a URI's query alike.
    const auto& url = test::server().url();
    const bool uri = url.find("://") != std::string::npos;
    const auto missing_db = url + (uri ? (url.find('?') == std::string::npos ? "?" : "&") : " ") + "dbname=no_such_database";
    test::Child refused({test::built("PQ_WORKER_BIN"), "--db", missing_db, "--queues", "x", "--exec", "k=true"}, {},
                        test::scratch("refused.log"));
    CHECK(refused.wait(30s) == 3);
    CHECK(refused.output().find("no_such_database") != std::string::npos);

    test::Child no_schema(worker_args(pq, {"--schema", pq.options().schema + "_none", "--queues", "x", "--exec",
                                           "k=true"}),
                          {}, test::scratch("schema.log"));
    CHECK(no_schema.wait(30s) == 3);
    CHECK(no_schema.output().find("run `pq migrate`") != std::string::npos);

    test::Child outage({test::built("PQ_WORKER_BIN"), "--db", dead, "--queues", "x", "--exec", "k=true"}, {},
                       test::scratch("outage.log"));
    REQUIRE(test::wait_until([&] { return outage.output().find("reconnecting") != std::string::npos; }));
    // Nobody else on the machine reads the password from its command line.
    const auto cmdline = test::read_file("/proc/" + std::to_string(outage.pid()) + "/cmdline");
    CHECK(cmdline.find("sentinel-pw") == std::string::npos);
    CHECK(cmdline.find("127.0.0.1:1/x") != std::string::npos);
    outage.signal(SIGTERM);
    CHECK(outage.wait(30s) == 0);
    CHECK(outage.output().find("sentinel-pw") == std::string::npos);
  }

  TEST_CASE("signals: a second SIGTERM cuts the grace period short; SIGTSTP makes the worker quiet") {
    auto pq = test::fresh();
    auto q = pq["sig"];
    auto first = q.put("{}", {.kind = "nap"});
    test::Child worker(worker_args(pq, {"--queues", "sig", "--grace", "600", "--verbose", "--exec", "nap=sleep 347"}),
                       {}, test::scratch("sig.log"));
    REQUIRE(test::wait_until([&] { return pq.job(first)->state == pq::JobState::running; }));
    // --verbose: each job's start is logged.
    REQUIRE(test::wait_until([&] { return worker.output().find("attempt 1/25 started") != std::string::npos; }));
    worker.signal(SIGTSTP);
    REQUIRE(test::wait_until([&] { return worker.output().find("is quiet") != std::string::npos; }));
    auto second = q.put("{}", {.kind = "nap"});
    worker.signal(SIGTERM);
    REQUIRE(test::wait_until([&] { return worker.output().find("stopping") != std::string::npos; }));
    worker.signal(SIGTERM);  // the grace period would last ten minutes
    CHECK(worker.wait(30s) == 0);
    CHECK(pq.job(first)->state == pq::JobState::available);  // released, its attempt not counted
    CHECK(pq.job(first)->attempt == 0);
    CHECK(pq.job(second)->attempt == 0);  // put while quiet: never claimed
    CHECK(test::wait_until([] { return test::count_processes("sleep 347") == 0; }, 10s));
  }
}
