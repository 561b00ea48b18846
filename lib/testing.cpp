#include "pq/testing.hpp"

#include <arpa/inet.h>
#include <fcntl.h>
#include <fmt/core.h>
#include <netinet/in.h>
#include <pwd.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <unistd.h>

#include <atomic>
#include <cstdio>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <sstream>

#include "pq/error.hpp"

namespace fs = std::filesystem;

namespace pq::testing {
namespace {

auto read_tail(const fs::path& path, std::size_t bytes) -> std::string {
  std::ifstream in(path, std::ios::binary);
  if (!in) return "";
  std::stringstream buffer;
  buffer << in.rdbuf();
  auto text = buffer.str();
  return text.size() > bytes ? text.substr(text.size() - bytes) : text;
}

// PostgreSQL refuses to run as root; as root the cluster belongs to this user instead.
constexpr const char* kServerUser = "postgres";

struct Owner {
  uid_t uid = 0;
  gid_t gid = 0;
  bool switch_user = false;
};

auto owner() -> Owner {
  if (::geteuid() != 0) return {::geteuid(), ::getegid(), false};
  passwd* user = ::getpwnam(kServerUser);
  if (user == nullptr) {
    throw Error(fmt::format("running as root and there is no '{}' user to run PostgreSQL as", kServerUser));
  }
  return {user->pw_uid, user->pw_gid, true};
}

}  // namespace

auto postgres_bindir() -> std::string {
  if (FILE* pipe = ::popen("pg_config --bindir 2>/dev/null", "r")) {
    char line[4096] = {};
    std::string dir = std::fgets(line, sizeof(line), pipe) != nullptr ? line : "";
    ::pclose(pipe);
    while (!dir.empty() && (dir.back() == '\n' || dir.back() == ' ')) dir.pop_back();
    if (!dir.empty() && fs::exists(fs::path(dir) / "initdb")) return dir;
  }
  fs::path best;
  int best_version = -1;
  std::error_code ignored;
  for (const auto& entry : fs::directory_iterator("/usr/lib/postgresql", ignored)) {
    int version = std::atoi(entry.path().filename().c_str());
    if (version > best_version && fs::exists(entry.path() / "bin" / "initdb")) {
      best_version = version;
      best = entry.path() / "bin";
    }
  }
  if (best.empty()) {
    throw Error("cannot find PostgreSQL's initdb: install the postgresql package (pg_config --bindir or "
                "/usr/lib/postgresql/*/bin)");
  }
  return best.string();
}

auto free_port() -> int {
  int fd = ::socket(AF_INET, SOCK_STREAM, 0);
  if (fd < 0) throw Error("socket() failed while looking for a free port");
  sockaddr_in address{};
  address.sin_family = AF_INET;
  address.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  socklen_t length = sizeof(address);
  int port = 0;
  if (::bind(fd, reinterpret_cast<sockaddr*>(&address), sizeof(address)) == 0 &&
      ::getsockname(fd, reinterpret_cast<sockaddr*>(&address), &length) == 0) {
    port = ntohs(address.sin_port);
  }
  ::close(fd);
  if (port == 0) throw Error("cannot find a free TCP port on 127.0.0.1");
  return port;
}

auto unique_name(std::string_view prefix) -> std::string {
  static std::atomic<int> counter{0};
  return fmt::format("{}_{}_{}", prefix, ::getpid(), counter.fetch_add(1));
}

void TempPostgres::run_as_owner(const std::vector<std::string>& argv, const std::string& log) const {
  const Owner who = owner();
  std::vector<char*> args;
  for (const auto& arg : argv) args.push_back(const_cast<char*>(arg.c_str()));
  args.push_back(nullptr);
  pid_t pid = ::fork();
  if (pid < 0) throw Error("fork() failed while starting PostgreSQL");
  if (pid == 0) {
    int fd = ::open(log.c_str(), O_WRONLY | O_CREAT | O_APPEND, 0644);
    if (fd >= 0) {
      ::dup2(fd, STDOUT_FILENO);
      ::dup2(fd, STDERR_FILENO);
    }
    if (::chdir(directory_.c_str()) != 0) ::_exit(126);
    if (who.switch_user && (::setgid(who.gid) != 0 || ::setuid(who.uid) != 0)) ::_exit(126);
    ::execv(args[0], args.data());
    ::_exit(127);
  }
  int status = 0;
  while (::waitpid(pid, &status, 0) < 0 && errno == EINTR) {
  }
  if (!WIFEXITED(status) || WEXITSTATUS(status) != 0) {
    throw Error(fmt::format("{} failed (status {}); end of {}:\n{}", argv[0], status, log,
                            read_tail(log, 2000)));
  }
}

TempPostgres::TempPostgres(TempPostgresOptions options) {
  if (const char* url = std::getenv("PQ_TEST_DATABASE_URL"); options.use_environment && url && *url) {
    url_ = url;
    external_ = true;
    return;
  }
  bindir_ = postgres_bindir();
  std::string pattern = (fs::temp_directory_path() / "pq-test-XXXXXX").string();
  if (::mkdtemp(pattern.data()) == nullptr) throw Error("cannot create a temporary directory");
  directory_ = pattern;
  const Owner who = owner();
  if (who.switch_user && ::chown(directory_.c_str(), who.uid, who.gid) != 0) {
    throw Error(fmt::format("cannot hand {} to the '{}' user", directory_, kServerUser));
  }
  const std::string data = directory_ + "/data";
  try {
    run_as_owner({bindir_ + "/initdb", "-D", data, "-U", "postgres", "-A", "trust", "-E", "UTF8", "--locale=C",
                  "--no-sync"},
                 directory_ + "/initdb.log");
    port_ = free_port();
    std::ofstream conf(data + "/postgresql.conf", std::ios::app);
    conf << "\n# pq::testing::TempPostgres\n"
         << "port = " << port_ << "\n"
         << "listen_addresses = '127.0.0.1'\n"
         << "unix_socket_directories = '" << directory_ << "'\n"
         << "max_connections = 300\n"
         << "fsync = off\n"
         << "full_page_writes = off\n"
         << "synchronous_commit = off\n"
         // A new cluster creates its WAL segments as it writes; zero-filling each 16 MB one charges whoever
         // happens to write then, and a benchmark's heavier writer most.
         << "wal_init_zero = off\n";
    for (const auto& setting : options.settings) conf << setting << "\n";
    conf.close();
    start();
  } catch (...) {
    std::error_code ignored;
    fs::remove_all(directory_, ignored);
    throw;
  }
  url_ = fmt::format("host={} port={} user=postgres dbname=postgres", directory_, port_);
  tcp_url_ = fmt::format("postgresql://postgres@127.0.0.1:{}/postgres", port_);
}

TempPostgres::~TempPostgres() {
  if (external_) return;
  try {
    if (running_) {
      run_as_owner({bindir_ + "/pg_ctl", "-D", directory_ + "/data", "-m", "immediate", "-w", "stop"},
                   directory_ + "/pg_ctl.log");
    }
  } catch (const Error&) {
    // Nothing to do in a destructor: the directory goes anyway, and the server dies without it.
  }
  std::error_code ignored;
  fs::remove_all(directory_, ignored);
}

void TempPostgres::start() {
  if (external_) throw Error("cannot start an external server (PQ_TEST_DATABASE_URL)");
  run_as_owner({bindir_ + "/pg_ctl", "-D", directory_ + "/data", "-l", directory_ + "/server.log", "-w", "-t",
                "60", "start"},
               directory_ + "/pg_ctl.log");
  running_ = true;
}

void TempPostgres::stop() {
  if (external_) throw Error("cannot stop an external server (PQ_TEST_DATABASE_URL)");
  run_as_owner({bindir_ + "/pg_ctl", "-D", directory_ + "/data", "-m", "fast", "-w", "stop"},
               directory_ + "/pg_ctl.log");
  running_ = false;
}

void TempPostgres::restart() {
  if (external_) throw Error("cannot restart an external server (PQ_TEST_DATABASE_URL)");
  run_as_owner({bindir_ + "/pg_ctl", "-D", directory_ + "/data", "-l", directory_ + "/server.log", "-m",
                "fast", "-w", "-t", "60", "restart"},
               directory_ + "/pg_ctl.log");
  running_ = true;
}

}  // namespace pq::testing
