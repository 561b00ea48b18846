// pq::testing::TempPostgres: who can reach the throwaway server, and that it never outlives its owner.
#include <arpa/inet.h>
#include <netinet/in.h>
#include <pwd.h>
#include <signal.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <unistd.h>

#include <filesystem>
#include <fstream>
#include <sstream>

#include "process.hpp"
#include "support.hpp"

using namespace std::chrono_literals;

namespace {

// Whether anything accepts a TCP connection on 127.0.0.1:port.
auto listening(int port) -> bool {
  int fd = ::socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
  REQUIRE(fd >= 0);
  sockaddr_in address{};
  address.sin_family = AF_INET;
  address.sin_port = htons(static_cast<std::uint16_t>(port));
  address.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  const bool connected = ::connect(fd, reinterpret_cast<sockaddr*>(&address), sizeof(address)) == 0;
  ::close(fd);
  return connected;
}

// A process that exists and is not a zombie waiting for a parent that does not reap.
auto alive(pid_t pid) -> bool {
  std::ifstream stat("/proc/" + std::to_string(pid) + "/stat");
  std::string line;
  if (!std::getline(stat, line)) return false;
  auto state = line.rfind(')');
  return state != std::string::npos && state + 2 < line.size() && line[state + 2] != 'Z';
}

auto refused(const std::string& url) -> std::string {
  try {
    pq::PQ{url}.schema_version();
  } catch (const pq::Error& error) {
    return error.what();
  }
  return "";
}

// Runs the owner program in `mode`, ends it with `signal` (0: it ends by itself), and checks that its server
// and directory go.
void owner_dies(const std::string& mode, int signal) {
  const auto output = test::scratch("owner.log");
  test::Child owner({test::built("PQ_TEMP_OWNER_BIN"), mode}, {}, output);
  std::string word, directory;
  pid_t postmaster = 0;
  REQUIRE(test::wait_until(
      [&] {
        std::istringstream(owner.output()) >> word >> postmaster >> directory;
        return word == "ready";
      },
      60s));
  CAPTURE(owner.output());
  REQUIRE(postmaster > 0);
  if (signal != 0) {
    CHECK(alive(postmaster));
    owner.signal(signal);
  }
  CHECK(owner.wait(30s) == 128 + (signal != 0 ? signal : SIGABRT));
  CHECK(test::wait_until([&] { return !alive(postmaster); }, 30s));
  CHECK(test::wait_until([&] { return !std::filesystem::exists(directory); }, 30s));
}

}  // namespace

TEST_SUITE("testing") {
  TEST_CASE("by default the server has no TCP listener, and its socket directory is private") {
    pq::testing::TempPostgres server({.settings = {}, .use_environment = false});
    CHECK(server.tcp_url().empty());
    pq::PQ pq{server.url()};
    CHECK(test::scalar(pq, "show listen_addresses").empty());
    CHECK_FALSE(listening(server.port()));
    struct stat info {};
    REQUIRE(::stat(server.directory().c_str(), &info) == 0);
    CHECK((info.st_mode & 07777) == 0700);
    const passwd* postgres = ::getpwnam("postgres");
    CHECK(info.st_uid == (::geteuid() == 0 && postgres != nullptr ? postgres->pw_uid : ::geteuid()));
  }

  TEST_CASE("a durable server keeps PostgreSQL's flushes; the default one skips them") {
    pq::testing::TempPostgres fast({.settings = {}, .use_environment = false});
    pq::PQ quick{fast.url()};
    CHECK(test::scalar(quick, "show fsync") == "off");
    CHECK(test::scalar(quick, "show synchronous_commit") == "off");
    pq::testing::TempPostgres durable({.settings = {}, .use_environment = false, .durable = true});
    pq::PQ pq{durable.url()};
    CHECK(test::scalar(pq, "show fsync") == "on");
    CHECK(test::scalar(pq, "show synchronous_commit") == "on");
    CHECK(test::scalar(pq, "show full_page_writes") == "on");
  }

  TEST_CASE("with TCP asked for, only the random password logs in") {
    pq::testing::TempPostgres server({.settings = {}, .use_environment = false, .tcp = true});
    REQUIRE(listening(server.port()));
    const auto& url = server.tcp_url();
    CHECK(pq::PQ{url}.schema_version() == 0);
    const auto at = "@127.0.0.1:" + std::to_string(server.port()) + "/postgres";
    const std::string prefix = "postgresql://postgres:";
    REQUIRE(url.starts_with(prefix));
    const auto password = url.substr(prefix.size(), url.find('@') - prefix.size());
    CHECK(password.size() >= 32);
    CHECK(refused("postgresql://postgres" + at + "?passfile=" + test::scratch("no-passfile")).find("password") !=
          std::string::npos);
    CHECK(refused("postgresql://postgres:" + password + "x" + at).find("password authentication failed") !=
          std::string::npos);
    // No other role may log in over TCP, with or without a password.
    pq::PQ local{server.url()};
    test::exec(local, "create role other login password 'known'");
    CHECK(refused("postgresql://other:known" + at).find("no pg_hba.conf entry") != std::string::npos);
    // And each server has a password of its own.
    pq::testing::TempPostgres second({.settings = {}, .use_environment = false, .tcp = true});
    CHECK(second.tcp_url().find(password) == std::string::npos);
  }

  TEST_CASE("a SIGKILLed owner leaves no server behind") { owner_dies("wait", SIGKILL); }

  TEST_CASE("a SIGTERMed owner leaves no server behind") { owner_dies("wait", SIGTERM); }

  TEST_CASE("an owner ended by an uncaught exception leaves no server behind") { owner_dies("throw", 0); }
}
