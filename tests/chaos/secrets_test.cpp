// Secrets: through refused logins, unreachable servers, malformed connection strings, terminated
// connections and a restarting server, a sentinel password appears in no log line and no error message.
#include <signal.h>

#include <fstream>

#include "chaos.hpp"

using namespace std::chrono_literals;

namespace {

constexpr const char* kSentinel = "S3ntinel-Pw-7d1c";

// Everything pq said: error messages and log lines.
struct Said {
  std::string text;

  void error_of(const std::function<void()>& attempt) {
    try {
      attempt();
      text += "(no error)\n";
    } catch (const std::exception& error) {
      text += error.what() + std::string("\n");
    }
  }
};

}  // namespace

TEST_SUITE("secrets") {
  TEST_CASE("a sentinel password appears in no error and no log line, whatever fails") {
    pq::testing::TempPostgres server({.settings = {}, .use_environment = false, .tcp = true});
    {  // Passwords are checked over TCP; the test itself keeps trusted access through the socket.
      std::ofstream(server.directory() + "/data/pg_hba.conf")
          << "local all all trust\nhost all all 127.0.0.1/32 scram-sha-256\n";
      pq::PQ admin{server.url(), {.schema = "admin"}};
      admin.create();
      chaos::rows(admin, "select pg_reload_conf()");
      chaos::rows(admin, std::string("create role app login superuser password '") + kSentinel + "'");
    }
    const auto at = "127.0.0.1:" + std::to_string(server.port());
    const auto good = "postgresql://app:" + std::string(kSentinel) + "@" + at + "/postgres";
    const std::vector<std::string> bad{
        "postgresql://app:" + std::string(kSentinel) + "-wrong@" + at + "/postgres",
        "host=127.0.0.1 port=" + std::to_string(server.port()) + " user=app dbname=postgres password=" + kSentinel + "x",
        "postgresql://app:" + std::string(kSentinel) + "@127.0.0.1:1/postgres?connect_timeout=2",
        // Malformed: libpq quotes such strings in its messages.
        "postgresql://app:" + std::string(kSentinel) + "%zz@" + at + "/postgres",
        "postgresql://app:" + std::string(kSentinel) + "@[::1/postgres",
        "postgresql://app:" + std::string(kSentinel) + "@" + at + "/postgres?bogus=1",
    };
    Said said;
    for (const auto& url : bad) {
      said.error_of([&] {
        pq::PQ pq{url, {.schema = "app"}};
        said.text += pq.describe() + "\n";
        pq["q"].put("{}");
      });
      said.error_of([&] { pq::PQ{url}.create(); });
      test::LogCapture log;
      pq::PQ pq{url, {.schema = "app"}};
      pq["q"].task("t", [] {});
      pq::Worker worker(pq, {.queues = {"q"}, .handle_signals = false, .log = log.sink()});
      pq::Scheduler scheduler(pq, {.interval = 100ms, .leader_ttl = 1s, .handle_signals = false, .log = log.sink()});
      std::string refused;  // a worker gives up at once when the server refuses it
      std::thread runs([&] {
        try {
          worker.run();
        } catch (const std::exception& error) {
          refused = error.what();
        }
      });
      std::thread maintains([&] { scheduler.run(); });
      std::this_thread::sleep_for(700ms);  // a few failed rounds and reconnect attempts
      worker.stop();
      scheduler.stop();
      runs.join();
      maintains.join();
      for (const auto& line : log.lines()) said.text += line + "\n";
      said.text += refused + "\n";
    }
    CHECK(said.text.find("password authentication failed") != std::string::npos);  // the failures did happen

    // A worker and a scheduler process with the right password: logins refused for a while, connections
    // terminated, the server restarted and stopped for a while.
    pq::PQ pq{good, {.schema = "app"}};
    pq.create();
    auto worker = chaos::worker(test::tagged(good, "secret-worker"), pq, "soak", {"--lease", "2"},
                                test::scratch("worker.log"));
    test::Child scheduler(test::pq_command("PQ_SCHEDULER_BIN", good, "app", {"--interval", "0.2", "--leader-ttl", "1"}), {},
                          test::scratch("scheduler.log"));
    pq::PQ admin{server.url(), {.schema = "admin"}};
    CHECK(chaos::eventually([&] { return chaos::backends(admin, "secret-worker") >= 1; }, 30s));
    chaos::rows(admin, "alter role app nologin");
    chaos::rows(admin, "select pg_terminate_backend(pid) from pg_stat_activity where usename = 'app'");
    CHECK(chaos::eventually([&] { return worker->output().find("not permitted to log in") != std::string::npos; }, 30s));
    chaos::rows(admin, "alter role app login");
    server.restart();
    server.stop();
    std::this_thread::sleep_for(1s);
    server.start();
    CHECK(chaos::eventually([&] { return chaos::backends(admin, "secret-worker") >= 1; }, 60s));
    worker->signal(SIGTERM);
    scheduler.signal(SIGTERM);
    CHECK(worker->wait(60s) == 0);
    CHECK(scheduler.wait(60s) == 0);
    said.text += worker->output() + scheduler.output();
    CHECK(said.text.find("reconnecting") != std::string::npos);

    CAPTURE(said.text);
    CHECK(said.text.find(kSentinel) == std::string::npos);
    CHECK(test::read_file(server.directory() + "/server.log").find(kSentinel) == std::string::npos);
  }
}
