#include "process.hpp"

#include <fcntl.h>
#include <pwd.h>
#include <signal.h>
#include <sys/prctl.h>
#include <sys/wait.h>
#include <unistd.h>

#include <algorithm>
#include <atomic>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <sstream>
#include <stdexcept>
#include <thread>

extern char** environ;  // NOLINT(readability-redundant-declaration)

namespace test {

Child::Child(std::vector<std::string> argv, std::vector<std::string> env, std::string output, bool as_server_owner)
    : output_(std::move(output)) {
  const passwd* owner = as_server_owner && ::geteuid() == 0 ? ::getpwnam("postgres") : nullptr;
  if (as_server_owner && ::geteuid() == 0 && owner == nullptr) throw std::runtime_error("no 'postgres' user");
  std::vector<std::string> environment;
  for (char** entry = environ; *entry != nullptr; ++entry) environment.emplace_back(*entry);
  environment.insert(environment.end(), env.begin(), env.end());
  std::vector<char*> args;
  std::vector<char*> envp;
  for (auto& arg : argv) args.push_back(arg.data());
  for (auto& entry : environment) envp.push_back(entry.data());
  args.push_back(nullptr);
  envp.push_back(nullptr);
  const pid_t parent = ::getpid();
  pid_ = ::fork();
  if (pid_ < 0) throw std::runtime_error("fork failed");
  if (pid_ == 0) {
    int fd = ::open(output_.c_str(), O_WRONLY | O_CREAT | O_APPEND, 0644);
    ::dup2(fd, STDOUT_FILENO);
    ::dup2(fd, STDERR_FILENO);
    if (owner != nullptr && (::setgid(owner->pw_gid) != 0 || ::setuid(owner->pw_uid) != 0)) ::_exit(126);
    // A test that crashes runs no destructor: the kernel ends its children instead (set after the user
    // switch, which clears it).
    if (::prctl(PR_SET_PDEATHSIG, SIGKILL) != 0 || ::getppid() != parent) ::_exit(126);
    ::execve(args[0], args.data(), envp.data());
    ::_exit(127);
  }
}

Child::~Child() {
  if (!status_) {
    ::kill(pid_, SIGKILL);
    wait(std::chrono::seconds(10));
  }
}

void Child::signal(int number) const { ::kill(pid_, number); }

auto Child::wait(std::chrono::milliseconds timeout) -> std::optional<int> {
  auto deadline = std::chrono::steady_clock::now() + timeout;
  while (!status_) {
    int status = 0;
    pid_t done = ::waitpid(pid_, &status, WNOHANG);
    if (done == pid_) {
      status_ = WIFEXITED(status) ? WEXITSTATUS(status) : 128 + WTERMSIG(status);
      break;
    }
    if (std::chrono::steady_clock::now() >= deadline) break;
    std::this_thread::sleep_for(std::chrono::milliseconds(10));
  }
  return status_;
}

auto Child::output() const -> std::string { return read_file(output_); }

auto count_processes(const std::string& command_line) -> int {
  int count = 0;
  std::error_code ignored;
  for (const auto& entry : std::filesystem::directory_iterator("/proc", ignored)) {
    std::ifstream in(entry.path() / "cmdline", std::ios::binary);
    std::string arguments;
    try {
      arguments.assign(std::istreambuf_iterator<char>(in), std::istreambuf_iterator<char>());
    } catch (const std::ios_base::failure&) {
      continue;  // the process exited while its cmdline was read (ESRCH): it is not running
    }
    while (!arguments.empty() && arguments.back() == '\0') arguments.pop_back();
    std::replace(arguments.begin(), arguments.end(), '\0', ' ');
    if (arguments == command_line) ++count;
  }
  return count;
}

auto built(const char* name) -> std::string {
  const char* path = std::getenv(name);
  if (path == nullptr || *path == 0) throw std::runtime_error(std::string(name) + " is not set (run through meson test)");
  return path;
}

auto pq_command(const char* program, const std::string& db, const std::string& schema,
                std::vector<std::string> extra) -> std::vector<std::string> {
  std::vector<std::string> args{built(program), "--db", db, "--schema", schema};
  args.insert(args.end(), extra.begin(), extra.end());
  return args;
}

auto scratch(const std::string& name) -> std::string {
  static std::atomic<int> counter{0};
  auto dir = std::filesystem::temp_directory_path() /
             ("pq-proc_" + std::to_string(::getpid()) + "_" + std::to_string(counter++));
  std::filesystem::create_directories(dir);
  return (dir / name).string();
}

auto read_file(const std::string& path) -> std::string {
  std::ifstream in(path, std::ios::binary);
  std::stringstream text;
  text << in.rdbuf();
  return text.str();
}

}  // namespace test
