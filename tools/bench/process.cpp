#include "process.hpp"

#include <fcntl.h>
#include <fmt/core.h>
#include <signal.h>
#include <sys/prctl.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cerrno>
#include <fstream>
#include <sstream>
#include <thread>

#include "bench.hpp"
#include "pq/error.hpp"

namespace pq::bench {

Process::Process(const std::vector<std::string>& argv, const std::string& log) {
  std::vector<char*> args;
  for (const auto& arg : argv) args.push_back(const_cast<char*>(arg.c_str()));
  args.push_back(nullptr);
  pid_ = ::fork();
  if (pid_ < 0) throw pq::Error("fork() failed");
  if (pid_ == 0) {
    // Dies with the bench even when a signal ends it before this object's destructor could.
    ::prctl(PR_SET_PDEATHSIG, SIGKILL);
    int fd = ::open(log.c_str(), O_WRONLY | O_CREAT | O_TRUNC, 0644);
    if (fd >= 0) {
      ::dup2(fd, STDOUT_FILENO);
      ::dup2(fd, STDERR_FILENO);
    }
    ::execv(args[0], args.data());
    ::_exit(127);
  }
}

Process::~Process() {
  if (!status_) {
    ::kill(pid_, SIGKILL);
    wait(10s);
  }
}

void Process::signal(int number) const { ::kill(pid_, number); }

auto Process::wait() -> int {
  while (!status_) {
    int status = 0;
    if (::waitpid(pid_, &status, 0) == pid_) {
      status_ = WIFEXITED(status) ? WEXITSTATUS(status) : 128 + WTERMSIG(status);
    } else if (errno != EINTR) {
      throw pq::Error(fmt::format("waitpid({}) failed", pid_));
    }
  }
  return *status_;
}

auto Process::wait(std::chrono::milliseconds timeout) -> std::optional<int> {
  const auto deadline = SteadyClock::now() + timeout;
  while (!status_) {
    int status = 0;
    if (::waitpid(pid_, &status, WNOHANG) == pid_) {
      status_ = WIFEXITED(status) ? WEXITSTATUS(status) : 128 + WTERMSIG(status);
    } else if (SteadyClock::now() >= deadline) {
      break;
    } else {
      std::this_thread::sleep_for(5ms);
    }
  }
  return status_;
}

auto read_file(const fs::path& path) -> std::string {
  std::ifstream in(path);
  std::stringstream text;
  text << in.rdbuf();
  return text.str();
}

auto memory_mib(pid_t pid, std::string_view field) -> double {
  std::istringstream status(read_file(fmt::format("/proc/{}/status", pid)));
  for (std::string line; std::getline(status, line);) {
    if (line.starts_with(field) && line.size() > field.size() && line[field.size()] == ':') {
      return std::stod(line.substr(field.size() + 1)) / 1024.0;  // the kernel reports kB
    }
  }
  throw pq::Error(fmt::format("no {} for process {}: has it exited?", field, pid));
}

}  // namespace pq::bench
