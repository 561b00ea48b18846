// The pq binary as a child process on the test server, for the cli tests.
#include "cli/cli.hpp"

#include <fcntl.h>
#include <sys/wait.h>
#include <unistd.h>

#include <algorithm>
#include <array>
#include <cerrno>
#include <csignal>
#include <cstdlib>
#include <sstream>

extern char** environ;

using namespace std::chrono_literals;

namespace cli {

auto cli_path() -> std::string {
  const char* path = std::getenv("PQ_CLI");
  REQUIRE_MESSAGE(path != nullptr, "PQ_CLI names the pq binary; run the tests through `meson test`");
  return path;
}

Child::Child(const std::vector<std::string>& args, const std::vector<std::string>& env, Stdout stdout_to,
             Stdin stdin_from) {
  std::array<int, 2> in{}, out{}, err{};
  std::signal(SIGPIPE, SIG_IGN);  // a child that exits early must not kill the tests as they feed it
  REQUIRE(::pipe2(in.data(), O_CLOEXEC) == 0);
  REQUIRE(::pipe2(out.data(), O_CLOEXEC) == 0);
  REQUIRE(::pipe2(err.data(), O_CLOEXEC) == 0);
  if (stdout_to == Stdout::broken) {
    ::close(out[0]);  // before the fork, so the child's first write already finds no reader
    out[0] = -1;
  }
  const auto path = cli_path();
  std::vector<std::string> environment;
  for (char** entry = environ; *entry != nullptr; ++entry) {
    std::string_view current = *entry;
    auto replaced = [&](const std::string& added) {
      return current.substr(0, current.find('=') + 1) == added.substr(0, added.find('=') + 1);
    };
    if (std::none_of(env.begin(), env.end(), replaced)) environment.emplace_back(current);
  }
  environment.insert(environment.end(), env.begin(), env.end());
  std::vector<char*> argv{const_cast<char*>(path.c_str())};
  for (const auto& arg : args) argv.push_back(const_cast<char*>(arg.c_str()));
  argv.push_back(nullptr);
  std::vector<char*> envp;
  for (auto& entry : environment) envp.push_back(entry.data());
  envp.push_back(nullptr);
  pid_ = ::fork();
  REQUIRE(pid_ >= 0);
  if (pid_ == 0) {
    std::signal(SIGPIPE, SIG_DFL);  // as a shell starts it, not with the tests' disposition
    ::dup2(in[0], STDIN_FILENO);
    ::dup2(out[1], STDOUT_FILENO);
    ::dup2(err[1], STDERR_FILENO);
    if (stdout_to == Stdout::full) ::dup2(::open("/dev/full", O_WRONLY), STDOUT_FILENO);
    if (stdout_to == Stdout::closed) ::close(STDOUT_FILENO);
    if (stdin_from == Stdin::directory) ::dup2(::open("/tmp", O_RDONLY | O_DIRECTORY), STDIN_FILENO);
    if (stdin_from == Stdin::closed) ::close(STDIN_FILENO);
    ::execve(argv[0], argv.data(), envp.data());
    ::_exit(127);
  }
  ::close(in[0]);
  ::close(out[1]);
  ::close(err[1]);
  in_ = in[1];
  out_ = out[0];
  err_ = err[0];
  if (stdout_to != Stdout::pipe && out_ >= 0) {
    ::close(out_);
    out_ = -1;
  }
  ::fcntl(in_, F_SETFL, O_NONBLOCK);
}

Child::~Child() {
  if (pid_ > 0) {
    ::kill(pid_, SIGKILL);
    ::waitpid(pid_, nullptr, 0);
  }
  for (int fd : {in_, out_, err_}) {
    if (fd >= 0) ::close(fd);
  }
}

auto Child::read_until(std::string_view text, std::chrono::seconds timeout) -> bool {
  const auto deadline = std::chrono::steady_clock::now() + timeout;
  while (out_text_.find(text) == std::string::npos) {
    if (std::chrono::steady_clock::now() > deadline || !pump(deadline)) return false;
  }
  return true;
}

void Child::signal(int number) { REQUIRE(::kill(pid_, number) == 0); }

auto Child::finish(std::string_view input, std::chrono::seconds timeout) -> Outcome {
  input_ = input;
  const auto deadline = std::chrono::steady_clock::now() + timeout;
  if (input_.empty()) close_input();
  while (pump(deadline)) {
  }
  REQUIRE_MESSAGE(std::chrono::steady_clock::now() < deadline, "pq did not finish in time");
  int status = 0;
  REQUIRE(::waitpid(pid_, &status, 0) == pid_);
  pid_ = -1;
  return {WIFEXITED(status) ? WEXITSTATUS(status) : 128 + WTERMSIG(status), out_text_, err_text_};
}

void Child::close_input() {
  if (in_ >= 0) ::close(in_);
  in_ = -1;
}

auto Child::pump(std::chrono::steady_clock::time_point deadline) -> bool {
  if (out_ < 0 && err_ < 0) return false;
  const auto left =
      std::chrono::duration_cast<std::chrono::milliseconds>(deadline - std::chrono::steady_clock::now());
  if (left <= 0ms) return false;
  std::array<pollfd, 3> fds{pollfd{out_, POLLIN, 0}, pollfd{err_, POLLIN, 0}, pollfd{in_, POLLOUT, 0}};
  if (::poll(fds.data(), fds.size(), static_cast<int>(left.count())) < 0) return errno == EINTR;
  read_from(fds[0], out_, out_text_);
  read_from(fds[1], err_, err_text_);
  if (in_ >= 0 && fds[2].revents != 0) {
    auto written = ::write(in_, input_.data() + written_, input_.size() - written_);
    if (written > 0) written_ += static_cast<std::size_t>(written);
    if (written < 0 && errno != EAGAIN) written_ = input_.size();  // the child stopped reading
    if (written_ == input_.size()) close_input();
  }
  return true;
}

void Child::read_from(const pollfd& fd, int& owner, std::string& text) {
  if (owner < 0 || fd.revents == 0) return;
  std::array<char, 65536> buffer{};
  auto got = ::read(owner, buffer.data(), buffer.size());
  if (got > 0) {
    text.append(buffer.data(), static_cast<std::size_t>(got));
  } else if (got == 0 || errno != EINTR) {
    ::close(owner);
    owner = -1;
  }
}

auto connection(const pq::PQ& pq) -> std::vector<std::string> {
  return {"--db", test::server().url(), "--schema", pq.options().schema};
}

auto run(const pq::PQ& pq, std::vector<std::string> args, std::string_view input) -> Outcome {
  auto extra = connection(pq);
  args.insert(args.end(), extra.begin(), extra.end());
  return Child(args).finish(input);
}

auto run_to(Stdout stdout_to, const pq::PQ& pq, std::vector<std::string> args, std::string_view input)
    -> Outcome {
  auto extra = connection(pq);
  args.insert(args.end(), extra.begin(), extra.end());
  return Child(args, {}, stdout_to).finish(input);
}

void check_error(const Outcome& outcome, int code, std::string_view message) {
  CAPTURE(outcome.err);
  CHECK(outcome.code == code);
  CHECK(outcome.out.empty());
  CHECK(outcome.err.starts_with("pq: "));
  CHECK(outcome.err.ends_with("\n"));
  CHECK(std::count(outcome.err.begin(), outcome.err.end(), '\n') == 1);
  CHECK(outcome.err.find(message) != std::string::npos);
}

auto lines(const std::string& text) -> std::vector<std::string> {
  std::vector<std::string> out;
  std::istringstream in(text);
  for (std::string line; std::getline(in, line);) out.push_back(line);
  return out;
}

auto id_of(const Outcome& outcome) -> std::int64_t {
  REQUIRE(outcome.code == 0);
  auto printed = lines(outcome.out);
  REQUIRE(printed.size() == 1);
  return std::stoll(printed[0]);
}

auto json(const std::string& text) -> simdjson::dom::element {
  thread_local simdjson::dom::parser parser;
  simdjson::dom::element element;
  REQUIRE_MESSAGE(parser.parse(text).get(element) == simdjson::SUCCESS, text);
  return element;
}

}  // namespace cli
