// Handlers written in any language: each job runs `/bin/sh -c COMMAND` with the job's data on stdin.
#include <fcntl.h>
#include <fmt/core.h>
#include <poll.h>
#include <signal.h>
#include <sys/prctl.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <unistd.h>

#include <array>
#include <atomic>
#include <cerrno>
#include <cstring>
#include <functional>
#include <optional>
#include <stdexcept>
#include <stop_token>
#include <string>
#include <vector>

#include "pq/error.hpp"
#include "pq/worker.hpp"

extern char** environ;  // NOLINT(readability-redundant-declaration): POSIX declares it nowhere

namespace pq {
namespace {

constexpr std::size_t kStderrTail = 2000;

// Descriptors closed on every path, including exceptions.
class Fd {
 public:
  explicit Fd(int fd = -1) noexcept : fd_(fd) {}
  ~Fd() { reset(); }
  Fd(const Fd&) = delete;
  auto operator=(const Fd&) -> Fd& = delete;
  void reset() noexcept {
    if (fd_ >= 0) ::close(fd_);
    fd_ = -1;
  }
  [[nodiscard]] auto get() const noexcept -> int { return fd_; }

 private:
  int fd_;
};

// The worker's environment, without its own database settings: DATABASE_URL and libpq's PG* variables
// (PGPASSWORD, PGPASSFILE, PGSERVICE, PGHOST, ...) would hand the command the worker's database credentials.
// All PG* variables go, not a list of the secret ones, so that one added by a later libpq cannot slip through.
auto environment(const Job& job) -> std::vector<std::string> {
  std::vector<std::string> env;
  for (char** entry = environ; entry != nullptr && *entry != nullptr; ++entry) {
    std::string_view text(*entry);
    if (text.starts_with("PQ_JOB_ID=") || text.starts_with("PQ_JOB_ATTEMPT=") || text.starts_with("PQ_QUEUE=") ||
        text.starts_with("DATABASE_URL=") || text.starts_with("PG")) {
      continue;
    }
    env.emplace_back(text);
  }
  env.push_back(fmt::format("PQ_JOB_ID={}", job.id));
  env.push_back(fmt::format("PQ_JOB_ATTEMPT={}", job.attempt));
  env.push_back("PQ_QUEUE=" + job.queue);
  return env;
}

auto describe_status(int status, const std::string& err) -> std::string {
  std::string reason = WIFEXITED(status)     ? fmt::format("exited with status {}", WEXITSTATUS(status))
                       : WIFSIGNALED(status) ? fmt::format("killed by signal {}", WTERMSIG(status))
                                             : fmt::format("ended with wait status {}", status);
  auto text = err;
  while (!text.empty() && (text.back() == '\n' || text.back() == ' ')) text.pop_back();
  return text.empty() ? reason : fmt::format("{}: {}", reason, text);
}

// Whether the command has ended, without reaping it: while it is unreaped, its pid (and so its process
// group id) cannot be given to another process.
auto has_exited(pid_t pid) -> bool {
  siginfo_t info{};
  return ::waitid(P_PID, static_cast<id_t>(pid), &info, WEXITED | WNOHANG | WNOWAIT) == 0 && info.si_pid == pid;
}

// Ends this process the way the command ended, so that the worker sees the command's own wait status.
[[noreturn]] void end_like(int status) {
  if (WIFSIGNALED(status)) {
    const int number = WTERMSIG(status);
    const rlimit no_core{0, 0};  // a core of this copy of the worker would say nothing about the command
    ::setrlimit(RLIMIT_CORE, &no_core);
    sigset_t only{};
    ::sigemptyset(&only);
    ::sigaddset(&only, number);
    ::sigprocmask(SIG_UNBLOCK, &only, nullptr);
    ::kill(::getpid(), number);
    ::_exit(128 + number);
  }
  ::_exit(WIFEXITED(status) ? WEXITSTATUS(status) : 127);
}

// The process the worker forks for a job: leader of the job's process group, parent of /bin/sh, and gone
// with the worker. When the worker dies, even by SIGKILL, it kills the whole group: a signal to /bin/sh
// alone would leave what the command started in the background running beside the copy a rescue starts.
// It is a copy of a threaded process that never execs, so it makes async-signal-safe calls only.
[[noreturn]] void supervise(const char* const* argv, char* const* env, int input, int errors, pid_t worker) {
  ::setpgid(0, 0);  // its own process group, so the whole tree can be killed at once
  sigset_t watched{};
  ::sigemptyset(&watched);
  ::sigaddset(&watched, SIGCHLD);
  ::sigaddset(&watched, SIGUSR1);
  sigset_t original{};
  ::sigprocmask(SIG_BLOCK, &watched, &original);
  // The worker's handlers mean nothing here, and an ignored SIGCHLD would reap the command unseen.
  struct sigaction default_action {};
  default_action.sa_handler = SIG_DFL;
  for (int number = 1; number < NSIG; ++number) ::sigaction(number, &default_action, nullptr);
  // SIGUSR1 comes when the *thread* that forked ends. That is the executor thread running this job, which
  // stays in run_command until this process is reaped (a job the worker abandons keeps its thread, detached),
  // so it comes only with the end of the worker itself.
  if (::prctl(PR_SET_PDEATHSIG, SIGUSR1) != 0 || ::getppid() != worker) ::_exit(127);
  const pid_t command = ::fork();
  if (command == 0) {
    ::sigprocmask(SIG_SETMASK, &original, nullptr);
    ::dup2(input, STDIN_FILENO);
    ::dup2(errors, STDERR_FILENO);
    ::execve(argv[0], const_cast<char* const*>(argv), env);
    ::_exit(127);
  }
  // Nothing of the worker's stays open here: a copy of the command's pipes would keep them from ever closing,
  // and so would a copy of another job's.
  ::close_range(0, ~0U, 0);
  if (command < 0) ::_exit(127);
  for (;;) {
    siginfo_t info{};
    const int number = ::sigwaitinfo(&watched, &info);
    if (number == SIGUSR1) ::kill(0, SIGKILL);  // the worker is gone: so goes the group, this process included
    int status = 0;
    if (number == SIGCHLD && ::waitpid(command, &status, WNOHANG) == command) end_like(status);
  }
}

void run_command(const std::string& command, Context& context) {
  const auto& job = context.job();
  std::array<int, 2> input{};  // a socket pair, so a write to a command that closed its stdin is EPIPE, not SIGPIPE
  std::array<int, 2> errors{};
  if (::socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, input.data()) != 0) throw Error("socketpair() failed");
  Fd input_parent(input[0]), input_child(input[1]);
  if (::pipe2(errors.data(), O_CLOEXEC) != 0) throw Error("pipe() failed");
  Fd errors_parent(errors[0]), errors_child(errors[1]);

  auto env_strings = environment(job);
  std::vector<char*> env;
  for (auto& entry : env_strings) env.push_back(entry.data());
  env.push_back(nullptr);
  std::array<const char*, 4> argv{"/bin/sh", "-c", command.c_str(), nullptr};

  const pid_t worker = ::getpid();
  pid_t pid = ::fork();
  if (pid < 0) throw Error(fmt::format("fork() failed: {}", std::strerror(errno)));
  if (pid == 0) supervise(argv.data(), env.data(), input_child.get(), errors_child.get(), worker);
  ::setpgid(pid, pid);
  input_child.reset();
  errors_child.reset();
  // Readable once the supervisor has exited, after the command. Without it (a kernel before 5.3) the loop
  // notices the exit within one poll timeout.
  Fd exit_fd(static_cast<int>(::syscall(SYS_pidfd_open, pid, 0)));

  // Killed from the thread that asks for the stop (the worker's watchdog or its shutdown), so the group goes
  // even if this thread never runs again. It stays registered until the command has exited: a command that
  // closes its stderr is still running and must still be killable.
  std::atomic<bool> killed{false};
  std::optional<std::stop_callback<std::function<void()>>> kill_on_stop;
  kill_on_stop.emplace(context.stop_token(), [pid, &killed] {
    killed = true;
    ::kill(-pid, SIGKILL);
  });
  std::string_view to_write = job.data;
  std::string err;
  std::array<char, 4096> buffer{};
  bool reading = true;
  std::string failure;
  for (bool exited = false; !(exited && (!reading || killed));) {
    std::array<pollfd, 3> fds{
        pollfd{reading ? errors_parent.get() : -1, POLLIN, 0},
        pollfd{input_parent.get(), static_cast<short>(to_write.empty() ? 0 : POLLOUT), 0},
        pollfd{exited ? -1 : exit_fd.get(), POLLIN, 0}};
    int ready = ::poll(fds.data(), fds.size(), 100);
    if (ready < 0 && errno != EINTR) {
      ::kill(-pid, SIGKILL);  // it cannot be watched any more; it is reaped below
      failure = fmt::format("poll() failed: {}", std::strerror(errno));
      break;
    }
    exited = has_exited(pid);
    if (ready <= 0) continue;
    if (input_parent.get() >= 0 && (fds[1].revents & (POLLOUT | POLLERR | POLLHUP)) != 0) {
      auto sent = ::send(input_parent.get(), to_write.data(), to_write.size(), MSG_NOSIGNAL | MSG_DONTWAIT);
      if (sent > 0) to_write.remove_prefix(static_cast<std::size_t>(sent));
      if (sent < 0 && errno != EAGAIN && errno != EINTR) to_write = {};  // it does not want its input
      if (to_write.empty()) input_parent.reset();
    }
    if ((fds[0].revents & (POLLIN | POLLHUP | POLLERR)) != 0) {
      auto got = ::read(errors_parent.get(), buffer.data(), buffer.size());
      if (got > 0) {
        err.append(buffer.data(), static_cast<std::size_t>(got));
        if (err.size() > 2 * kStderrTail) err.erase(0, err.size() - kStderrTail);
      } else if (got == 0 || errno != EINTR) {
        reading = false;  // stderr closed: by the command and by everything it started that held it
      }
    }
  }
  if (err.size() > kStderrTail) err.erase(0, err.size() - kStderrTail);
  // Unregistered while the command is still unreaped, so its process group id cannot have been reused.
  kill_on_stop.reset();
  int status = 0;
  while (::waitpid(pid, &status, 0) < 0 && errno == EINTR) {
  }
  if (!failure.empty()) throw Error(failure);
  if (killed) throw std::runtime_error(describe_status(status, "stopped (timeout, cancel or shutdown); " + err));
  if (!WIFEXITED(status) || WEXITSTATUS(status) != 0) throw std::runtime_error(describe_status(status, err));
}

}  // namespace

auto exec_handler(std::string queue, std::string kind, std::string command, TaskOptions options) -> TaskHandler {
  if (command.empty()) throw UsageError(fmt::format("the command for kind '{}' is empty", kind));
  return TaskHandler{std::move(queue), std::move(kind), options,
                     [command = std::move(command)](Context& context) { run_command(command, context); }};
}

}  // namespace pq
