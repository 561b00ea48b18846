#include "pq/testing.hpp"

#include <arpa/inet.h>
#include <fcntl.h>
#include <fmt/core.h>
#include <netinet/in.h>
#include <grp.h>
#include <pwd.h>
#include <signal.h>
#include <sys/prctl.h>
#include <sys/random.h>
#include <sys/socket.h>
#include <sys/stat.h>
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

// In a forked child, before exec: only async-signal-safe calls. Root's supplementary groups go too, so the
// server cannot read what group root may.
auto become(const Owner& who) -> bool {
  return !who.switch_user || (::setgroups(1, &who.gid) == 0 && ::setgid(who.gid) == 0 && ::setuid(who.uid) == 0);
}

// The superuser's password when TCP is on: 32 bytes from the kernel's generator, in hex so that it needs no
// escaping in a URI or a conninfo string.
auto random_password() -> std::string {
  unsigned char bytes[32];
  std::size_t filled = 0;
  while (filled < sizeof(bytes)) {
    ssize_t got = ::getrandom(bytes + filled, sizeof(bytes) - filled, 0);
    if (got < 0 && errno == EINTR) continue;
    if (got <= 0) throw Error("getrandom() failed while making the test server's password");
    filled += static_cast<std::size_t>(got);
  }
  std::string hex;
  for (unsigned char byte : bytes) hex += fmt::format("{:02x}", byte);
  return hex;
}

// Only the owner may reach the socket in this directory (root always can): anyone who reaches it is the
// trusted superuser.
void check_private(const std::string& directory, const Owner& who) {
  struct stat info {};
  if (::stat(directory.c_str(), &info) != 0) throw Error(fmt::format("cannot stat {}", directory));
  if ((info.st_mode & 07777) != 0700 || info.st_uid != who.uid) {
    throw Error(fmt::format("{} must be mode 0700 and owned by uid {}, is mode {:04o} and owned by uid {}", directory,
                            who.uid, info.st_mode & 07777, info.st_uid));
  }
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
  const pid_t parent = ::getpid();
  pid_t pid = ::fork();
  if (pid < 0) throw Error("fork() failed while starting PostgreSQL");
  if (pid == 0) {
    int fd = ::open(log.c_str(), O_WRONLY | O_CREAT | O_APPEND, 0644);
    if (fd >= 0) {
      ::dup2(fd, STDOUT_FILENO);
      ::dup2(fd, STDERR_FILENO);
    }
    if (::chdir(directory_.c_str()) != 0 || !become(who)) ::_exit(126);
    // initdb or pg_ctl must not outlive an owner that dies meanwhile (the watchdog then removes what they
    // work on). Set after the user switch, which clears it; the forking thread waits for this child.
    if (::prctl(PR_SET_PDEATHSIG, SIGKILL) != 0 || ::getppid() != parent) ::_exit(126);
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

// The server must die with its owner even when no destructor runs (SIGKILL, SIGTERM, std::terminate): a
// child in a session of its own (so a terminal's or a test runner's signal to the owner's process group
// spares it) waits for EOF on a pipe whose write end only the owner holds, close-on-exec so that no program
// the owner runs inherits it. The kernel closes it whatever ends the owner; the child then stops the server
// and removes the directory. It is a shell so that nothing but async-signal-safe calls happen between fork
// and exec in a multi-threaded owner. (PR_SET_PDEATHSIG alone would not do: it fires when the forking
// thread ends, not the process, and it could only kill the watchdog, not clean up after it.)
void TempPostgres::start_watchdog() {
  const Owner who = owner();
  int ends[2];
  if (::pipe2(ends, O_CLOEXEC) != 0) throw Error("pipe2() failed while starting the test server's watchdog");
  int null = ::open("/dev/null", O_RDWR | O_CLOEXEC);
  const std::string pg_ctl = bindir_ + "/pg_ctl";
  const char* argv[] = {"/bin/sh",
                        "-c",
                        "read -r line; "
                        "if [ -f \"$1/data/postmaster.pid\" ]; then \"$2\" -D \"$1/data\" -m immediate -w stop; fi; "
                        "rm -rf \"$1\"",
                        "pq-temp-postgres-watchdog",
                        directory_.c_str(),
                        pg_ctl.c_str(),
                        nullptr};
  pid_t pid = ::fork();
  if (pid == 0) {
    ::setsid();
    if (::dup2(ends[0], STDIN_FILENO) < 0 || null < 0 || ::dup2(null, STDOUT_FILENO) < 0 ||
        ::dup2(null, STDERR_FILENO) < 0 || ::close_range(3, ~0U, 0) != 0 || ::chdir("/") != 0 || !become(who)) {
      ::_exit(126);
    }
    ::execv(argv[0], const_cast<char* const*>(argv));
    ::_exit(127);
  }
  ::close(ends[0]);
  if (null >= 0) ::close(null);
  if (pid < 0) {
    ::close(ends[1]);
    throw Error("fork() failed while starting the test server's watchdog");
  }
  watchdog_pid_ = pid;
  watchdog_fd_ = ends[1];
}

// After the server is gone: the watchdog finds nothing to stop or remove, and exits.
void TempPostgres::end_watchdog() noexcept {
  if (watchdog_pid_ < 0) return;
  ::close(watchdog_fd_);
  int status = 0;
  while (::waitpid(watchdog_pid_, &status, 0) < 0 && errno == EINTR) {
  }
  watchdog_pid_ = -1;
  watchdog_fd_ = -1;
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
  const std::string data = directory_ + "/data";
  std::string password;
  try {
    const Owner who = owner();
    if (::chmod(directory_.c_str(), 0700) != 0 ||
        (who.switch_user && ::chown(directory_.c_str(), who.uid, who.gid) != 0)) {
      throw Error(fmt::format("cannot make {} private to the '{}' user", directory_, kServerUser));
    }
    check_private(directory_, who);
    start_watchdog();
    std::vector<std::string> initdb{bindir_ + "/initdb", "-D", data, "-U", "postgres", "-A", "trust", "-E", "UTF8",
                                    "--locale=C", "--no-sync"};
    if (options.tcp) {
      password = random_password();
      const std::string file = directory_ + "/password";
      {
        int fd = ::open(file.c_str(), O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0600);
        if (fd < 0 || ::write(fd, password.data(), password.size()) != static_cast<ssize_t>(password.size()) ||
            (who.switch_user && ::fchown(fd, who.uid, who.gid) != 0)) {
          if (fd >= 0) ::close(fd);
          throw Error(fmt::format("cannot write {}", file));
        }
        ::close(fd);
      }
      initdb.push_back("--pwfile=" + file);
      try {
        run_as_owner(initdb, directory_ + "/initdb.log");
      } catch (...) {
        fs::remove(file);
        throw;
      }
      fs::remove(file);
    } else {
      run_as_owner(initdb, directory_ + "/initdb.log");
    }
    // The socket is reachable only through the 0700 directory, so local connections may be trusted; TCP, if
    // asked for, admits only the superuser with its password.
    std::ofstream(data + "/pg_hba.conf")
        << "# pq::testing::TempPostgres\n"
        << "local all all trust\n"
        << (options.tcp ? "host all postgres 127.0.0.1/32 scram-sha-256\n" : "");
    port_ = free_port();
    std::ofstream conf(data + "/postgresql.conf", std::ios::app);
    conf << "\n# pq::testing::TempPostgres\n"
         << "port = " << port_ << "\n"
         << "listen_addresses = '" << (options.tcp ? "127.0.0.1" : "") << "'\n"
         << "unix_socket_directories = '" << directory_ << "'\n"
         << "password_encryption = 'scram-sha-256'\n"
         << "max_connections = 300\n";
    if (!options.durable) {
      conf << "fsync = off\n"
           << "full_page_writes = off\n"
           << "synchronous_commit = off\n"
           // A new cluster creates its WAL segments as it writes; zero-filling each 16 MB one charges whoever
           // happens to write then, and a benchmark's heavier writer most.
           << "wal_init_zero = off\n";
    }
    for (const auto& setting : options.settings) conf << setting << "\n";
    conf.close();
    start();
  } catch (...) {
    end_watchdog();  // which stops a server that got as far as starting, and removes the directory
    std::error_code ignored;
    fs::remove_all(directory_, ignored);
    throw;
  }
  url_ = fmt::format("host={} port={} user=postgres dbname=postgres", directory_, port_);
  if (options.tcp) tcp_url_ = fmt::format("postgresql://postgres:{}@127.0.0.1:{}/postgres", password, port_);
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
  end_watchdog();
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
