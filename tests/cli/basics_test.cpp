// The pq command as people and scripts use it: the built binary (PQ_CLI, set by meson) against the test
// server, its output, messages and exit codes checked.
#include <fcntl.h>
#include <poll.h>
#include <simdjson.h>
#include <sys/wait.h>
#include <unistd.h>

#include <fmt/core.h>

#include <array>
#include <cerrno>
#include <csignal>
#include <cstdlib>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <set>
#include <sstream>

#include "process.hpp"
#include "support.hpp"

extern char** environ;

using namespace std::chrono_literals;

namespace {

struct Outcome {
  int code = -1;
  std::string out;
  std::string err;
};

auto cli_path() -> std::string {
  const char* path = std::getenv("PQ_CLI");
  REQUIRE_MESSAGE(path != nullptr, "PQ_CLI names the pq binary; run the tests through `meson test`");
  return path;
}

/// Where the child's stdout goes: a pipe the test reads, or one of the ways a write fails.
enum class Stdout {
  pipe,
  full,    ///< /dev/full: every write fails with ENOSPC
  closed,  ///< no descriptor 1 at all
  broken,  ///< a pipe whose reader is gone: EPIPE, or death by SIGPIPE
};

/// Where the child's stdin comes from: a pipe the test writes, or one that cannot be read.
enum class Stdin {
  pipe,
  closed,     ///< no descriptor 0 at all
  directory,  ///< a directory: every read fails with EISDIR
};

/// The pq binary as a child process, its three streams on pipes.
class Child {
 public:
  /// `env` entries "NAME=value" are added to this process's environment, replacing any of the same name.
  explicit Child(const std::vector<std::string>& args, const std::vector<std::string>& env = {},
                 Stdout stdout_to = Stdout::pipe, Stdin stdin_from = Stdin::pipe) {
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
  Child(const Child&) = delete;
  auto operator=(const Child&) -> Child& = delete;
  ~Child() {
    if (pid_ > 0) {
      ::kill(pid_, SIGKILL);
      ::waitpid(pid_, nullptr, 0);
    }
    for (int fd : {in_, out_, err_}) {
      if (fd >= 0) ::close(fd);
    }
  }

  /// Reads stdout until it holds `text`; false when the child ends or `timeout` passes first.
  auto read_until(std::string_view text, std::chrono::seconds timeout = 60s) -> bool {
    const auto deadline = std::chrono::steady_clock::now() + timeout;
    while (out_text_.find(text) == std::string::npos) {
      if (std::chrono::steady_clock::now() > deadline || !pump(deadline)) return false;
    }
    return true;
  }

  void signal(int number) { REQUIRE(::kill(pid_, number) == 0); }
  [[nodiscard]] auto pid() const noexcept -> pid_t { return pid_; }

  /// Writes `input` and closes stdin, reads both outputs to their end, and waits for the exit.
  auto finish(std::string_view input = {}, std::chrono::seconds timeout = 300s) -> Outcome {
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

 private:
  void close_input() {
    if (in_ >= 0) ::close(in_);
    in_ = -1;
  }

  // One round of poll: writes what stdin takes, reads what the outputs hold. False once both outputs ended
  // or the deadline passed.
  auto pump(std::chrono::steady_clock::time_point deadline) -> bool {
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

  static void read_from(const pollfd& fd, int& owner, std::string& text) {
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

  pid_t pid_ = -1;
  int in_ = -1, out_ = -1, err_ = -1;
  std::string input_;
  std::size_t written_ = 0;
  std::string out_text_, err_text_;
};

auto connection(const pq::PQ& pq) -> std::vector<std::string> {
  return {"--db", test::server().url(), "--schema", pq.options().schema};
}

/// Runs `pq ARGS --db URL --schema SCHEMA` on the test server.
auto run(const pq::PQ& pq, std::vector<std::string> args, std::string_view input = {}) -> Outcome {
  auto extra = connection(pq);
  args.insert(args.end(), extra.begin(), extra.end());
  return Child(args).finish(input);
}

/// Runs `pq ARGS --db URL --schema SCHEMA` with stdout going to `stdout_to`.
auto run_to(Stdout stdout_to, const pq::PQ& pq, std::vector<std::string> args, std::string_view input = {})
    -> Outcome {
  auto extra = connection(pq);
  args.insert(args.end(), extra.begin(), extra.end());
  return Child(args, {}, stdout_to).finish(input);
}

/// An error is one line, after "pq: ", and nothing else reaches stdout.
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

}  // namespace

TEST_SUITE("cli") {
  TEST_CASE("put takes JSON from the argument, stdin or a file; get prints it and completes the job") {
    auto pq = test::fresh();
    auto first = id_of(run(pq, {"put", "apples", R"({"kind":"Cox"})"}));
    auto second = id_of(run(pq, {"put", "apples"}, R"({"kind":"Arthur Turner"})"));
    const auto path = (std::filesystem::temp_directory_path() / (pq.options().schema + ".json")).string();
    std::ofstream(path) << "[1, 2]\n";
    auto third = id_of(run(pq, {"put", "apples", "--file", path}));
    std::filesystem::remove(path);
    auto fourth = id_of(run(pq, {"put", "apples", "--file", "-"}, "\"dash\""));
    CHECK(first < second);
    CHECK(second < third);
    CHECK(third < fourth);

    auto got = run(pq, {"get", "apples"});
    CHECK(got.code == 0);
    CHECK(got.out == "{\"kind\": \"Cox\"}\n");
    CHECK(got.err.empty());
    CHECK(test::state_of(pq, first) == pq::JobState::completed);
    CHECK(run(pq, {"get", "apples"}).out == "{\"kind\": \"Arthur Turner\"}\n");
    CHECK(run(pq, {"get", "apples"}).out == "[1, 2]\n");
    auto as_json = run(pq, {"get", "apples", "--json"});
    REQUIRE(as_json.code == 0);
    CHECK(int64_t(json(as_json.out)["id"]) == fourth);
    CHECK(std::string_view(json(as_json.out)["state"]) == "completed");
    CHECK(std::string_view(json(as_json.out)["data"]) == "dash");

    check_error(run(pq, {"get", "apples"}), 1, "queue 'apples' is empty");
    check_error(run(pq, {"get", "never used"}), 1, "queue 'never used' is empty");
    // A name with control characters may be refused or quoted, but never reaches the terminal as it is.
    auto escape = run(pq, {"get", "x\033[2Jy"});
    CHECK(escape.code != 0);
    CHECK(escape.err.find('\033') == std::string::npos);
  }

  TEST_CASE("get keeps the job when it cannot write it out: a full disk, a closed stdout, a closed pipe") {
    auto pq = test::fresh();
    auto id = pq["out"].put(R"({"n":1})");
    for (auto stdout_to : {Stdout::full, Stdout::closed, Stdout::broken}) {
      CAPTURE(static_cast<int>(stdout_to));
      auto outcome = run_to(stdout_to, pq, {"get", "out"});
      check_error(outcome, 3, "cannot write to stdout: ");
      CHECK(outcome.err.find("job " + std::to_string(id) + " stays in the queue") != std::string::npos);
      CHECK(test::state_of(pq, id) == pq::JobState::available);
      check_error(run_to(stdout_to, pq, {"get", "out", "--json"}), 3, "cannot write to stdout: ");
      CHECK(test::state_of(pq, id) == pq::JobState::available);
    }
    CHECK(run(pq, {"get", "out"}).out == "{\"n\": 1}\n");
    CHECK(test::state_of(pq, id) == pq::JobState::completed);
  }

  TEST_CASE("put whose ids cannot be written out puts nothing; other output errors are exit 3 too") {
    auto pq = test::fresh();
    for (auto stdout_to : {Stdout::full, Stdout::closed, Stdout::broken}) {
      CAPTURE(static_cast<int>(stdout_to));
      check_error(run_to(stdout_to, pq, {"put", "out", "1"}), 3, "cannot write to stdout: ");
      check_error(run_to(stdout_to, pq, {"put", "out"}, "2"), 3, "the job was not put");
      check_error(run_to(stdout_to, pq, {"put", "out", "--ndjson"}, "1\n2\n"), 3, "no job was put");
      CHECK(pq["out"].size() == 0);
      check_error(run_to(stdout_to, pq, {"stats", "--json"}), 3, "cannot write to stdout: ");
      check_error(run_to(stdout_to, pq, {"jobs"}), 3, "cannot write to stdout: ");
    }
    CHECK(test::scalar(pq, "select count(*) from \"" + pq.options().schema + "\".jobs") == "0");
  }

  TEST_CASE("get --lease leases a job for a shell consumer; done and fail finish it, guarded by the token") {
    auto pq = test::fresh();
    auto id = pq["l"].put(R"({"n":1})", {.max_attempts = 2});
    auto got = run(pq, {"get", "l", "--lease", "30s"});
    REQUIRE(got.code == 0);
    auto printed = lines(got.out);
    REQUIRE(printed.size() == 2);
    const auto space = printed[0].find(' ');
    REQUIRE(space != std::string::npos);
    CHECK(printed[0].substr(0, space) == std::to_string(id));
    const auto token = printed[0].substr(space + 1);
    CHECK(token.find(' ') == std::string::npos);
    CHECK(printed[1] == "{\"n\": 1}");
    auto job = pq.job(id);
    CHECK(job->state == pq::JobState::running);
    CHECK(job->attempt == 1);
    CHECK(job->lease_until > pq::Clock::now() + 20s);
    check_error(run(pq, {"get", "l"}), 1, "queue 'l' is empty");

    const auto id_text = std::to_string(id);
    check_error(run(pq, {"done", id_text, "--token", "1.somebody-else"}), 1, "the lease has passed on");
    check_error(run(pq, {"done", id_text}), 2, "done needs --token T");
    check_error(run(pq, {"done", id_text, "--token", "nonsense"}), 2, "bad lease token");
    CHECK(test::state_of(pq, id) == pq::JobState::running);
    CHECK(run(pq, {"fail", id_text, "disk on fire", "--token", token}).out ==
          "job " + id_text + " will run again after a backoff\n");
    job = pq.job(id);
    CHECK(job->state == pq::JobState::scheduled);
    CHECK(job->errors.find("disk on fire") != std::string::npos);
    check_error(run(pq, {"done", id_text, "--token", token}), 1, "the lease has passed on");

    test::force_job(pq, id, "state = 'available', schedule_at = now()");
    auto second = run(pq, {"get", "l", "--lease", "1m", "--json"});
    REQUIRE(second.code == 0);
    CHECK(int64_t(json(second.out)["id"]) == id);
    CHECK(int64_t(json(second.out)["attempt"]) == 2);
    const std::string second_token{std::string_view(json(second.out)["token"])};
    CHECK(second_token != token);
    auto failed = run(pq, {"fail", id_text, "--token", second_token, "--json"});
    CHECK(std::string_view(json(failed.out)["outcome"]) == "failed");
    CHECK(test::state_of(pq, id) == pq::JobState::failed);

    auto other = pq["l"].put("2");
    auto leased = lines(run(pq, {"get", "l", "--lease", "30s"}).out);
    REQUIRE(leased.size() == 2);
    const auto other_token = leased[0].substr(leased[0].find(' ') + 1);
    CHECK(run(pq, {"done", std::to_string(other), "--token", other_token}).out ==
          "job " + std::to_string(other) + " completed\n");
    CHECK(test::state_of(pq, other) == pq::JobState::completed);

    // A lease that lapsed and was rescued, then taken by another consumer: the old token finishes nothing.
    auto third = pq["l"].put("3");
    leased = lines(run(pq, {"get", "l", "--lease", "30s"}).out);
    REQUIRE(leased.size() == 2);
    test::force_job(pq, third, "attempt = 2, locked_by = 'worker-2'");
    check_error(run(pq, {"done", std::to_string(third), "--token", leased[0].substr(leased[0].find(' ') + 1)}), 1,
                "the lease has passed on");
    CHECK(test::state_of(pq, third) == pq::JobState::running);
    check_error(run(pq, {"get", "l", "--lease", "30s", "--keep"}), 2, "give one of --keep and --lease");
  }

  TEST_CASE("get --lease gives the job back when it cannot write it out") {
    auto pq = test::fresh();
    auto id = pq["l"].put("1");
    for (auto stdout_to : {Stdout::full, Stdout::closed, Stdout::broken}) {
      CAPTURE(static_cast<int>(stdout_to));
      check_error(run_to(stdout_to, pq, {"get", "l", "--lease", "30s"}), 3,
                  "job " + std::to_string(id) + " stays in the queue");
      auto job = pq.job(id);
      CHECK(job->state == pq::JobState::available);
      CHECK(job->attempt == 0);
    }
  }

  TEST_CASE("put options reach the job") {
    auto pq = test::fresh();
    auto later = pq.job(id_of(run(pq, {"put", "q", "1", "--at", "1h", "--kind", "eat", "--max-attempts", "3"})));
    REQUIRE(later);
    CHECK(later->state == pq::JobState::scheduled);
    CHECK(later->schedule_at > later->enqueued_at + 59min);
    CHECK(later->kind == "eat");
    CHECK(later->max_attempts == 3);
    auto past = pq.job(id_of(run(pq, {"put", "q", "2", "--at", "2020-01-01T00:00:00Z"})));
    CHECK(past->state == pq::JobState::available);
    CHECK(past->schedule_at == std::chrono::sys_days{std::chrono::year{2020} / 1 / 1});
    auto expected = pq.job(id_of(run(pq, {"put", "q", "3", "--expected", "2026-12-01T10:00:00+01:00",
                                          "--priority", "-5"})));
    REQUIRE(expected->expected_at);
    CHECK(*expected->expected_at == std::chrono::sys_days{std::chrono::year{2026} / 12 / 1} + 9h);
    CHECK(expected->priority == -5);
    auto printed = run(pq, {"put", "q", "4", "--json"});
    REQUIRE(printed.code == 0);
    CHECK(pq.job(int64_t(json(printed.out)["id"]))->data == "4");
  }

  TEST_CASE("get --keep looks without taking; get --wait waits for a job that falls due") {
    auto pq = test::fresh();
    auto first = id_of(run(pq, {"put", "q", "\"first\""}));
    id_of(run(pq, {"put", "q", "\"second\""}));
    auto peeked = run(pq, {"get", "q", "--keep"});
    CHECK(peeked.code == 0);
    CHECK(peeked.out == "\"first\"\n");
    CHECK(test::state_of(pq, first) == pq::JobState::available);
    CHECK(run(pq, {"get", "q", "--keep", "--json"}).out.find("\"state\":\"available\"") != std::string::npos);
    CHECK(run(pq, {"get", "q", "--wait", "forever"}).out == "\"first\"\n");
    CHECK(run(pq, {"get", "q", "--wait", "5"}).out == "\"second\"\n");
    check_error(run(pq, {"get", "q", "--keep"}), 1, "queue 'q' is empty");
    // No scheduler runs here: the blocking get promotes the job itself when it falls due.
    id_of(run(pq, {"put", "q", "\"soon\"", "--at", "1s"}));
    CHECK(run(pq, {"get", "q", "--wait", "2m"}).out == "\"soon\"\n");
    check_error(run(pq, {"get", "q", "--keep", "--wait", "1"}), 2, "cannot --wait");
    check_error(run(pq, {"get", "q", "--wait", "soon"}), 2, "bad --wait 'soon'");
    // Fractions, as every duration of pq's tools takes them.
    CHECK(run(pq, {"get", "q", "--wait", "0.5"}).code == 1);
    CHECK(run(pq, {"get", "q", "--wait", "1.5s"}).code == 1);
  }

  TEST_CASE("put --ndjson puts 100,000 lines in bulk and prints their ids") {
    auto pq = test::fresh();
    std::string input;
    for (int i = 0; i < 100'000; ++i) input += "{\"n\":" + std::to_string(i) + (i % 25'000 == 0 ? "}\n\n" : "}\n");
    auto outcome = run(pq, {"put", "bulk", "--ndjson"}, input);
    REQUIRE(outcome.code == 0);
    CHECK(outcome.err.empty());
    auto printed = lines(outcome.out);
    REQUIRE(printed.size() == 100'000);
    std::set<std::int64_t> ids;
    for (const auto& line : printed) ids.insert(std::stoll(line));
    CHECK(ids.size() == 100'000);
    CHECK(pq["bulk"].size() == 100'000);
    auto first = pq.job(std::stoll(printed.front()));
    auto last = pq.job(std::stoll(printed.back()));
    CHECK(first->data == "{\"n\": 0}");
    CHECK(last->data == "{\"n\": 99999}");

    auto as_json = run(pq, {"put", "small", "--ndjson", "--json"}, "1\n2\n");
    REQUIRE(as_json.code == 0);
    auto objects = lines(as_json.out);
    REQUIRE(objects.size() == 2);
    CHECK(pq.job(int64_t(json(objects[1])["id"]))->data == "2");
  }

  TEST_CASE("input over the payload limit is refused before it is read whole, and nothing is put") {
    auto pq = test::fresh();
    const std::string huge = "\"" + std::string(3U << 20U, 'x') + "\"";
    auto lines_in = run(pq, {"put", "big", "--ndjson"}, "1\n" + huge + "\n2\n");
    check_error(lines_in, 2, "line 2 is longer than 1048576 bytes, the limit for one job; no job was put");
    check_error(run(pq, {"put", "big"}, huge), 2, "stdin holds more than 1048576 bytes, the limit for one job");
    const auto path = test::scratch("huge.json");
    std::ofstream(path) << huge;
    check_error(run(pq, {"put", "big", "--file", path}), 2, "holds more than 1048576 bytes");
    CHECK(pq["big"].size() == 0);
  }

  TEST_CASE("an unreadable stdin or file is an error, not an empty input") {
    auto pq = test::fresh();
    for (auto stdin_from : {Stdin::closed, Stdin::directory}) {
      CAPTURE(static_cast<int>(stdin_from));
      auto args = std::vector<std::string>{"put", "q", "--ndjson"};
      auto extra = connection(pq);
      args.insert(args.end(), extra.begin(), extra.end());
      check_error(Child(args, {}, Stdout::pipe, stdin_from).finish(), 2, "cannot read stdin: ");
      args.erase(args.begin() + 2);
      check_error(Child(args, {}, Stdout::pipe, stdin_from).finish(), 2, "cannot read stdin: ");
    }
    check_error(run(pq, {"put", "q", "--file", "/tmp"}), 2, "cannot read '/tmp': it is a directory");
    check_error(run(pq, {"put", "q", "--ndjson", "--file", "/tmp"}), 2, "cannot read '/tmp': it is a directory");
    CHECK(pq["q"].size() == 0);
  }

  TEST_CASE("put --ndjson with a malformed line puts nothing and names the line") {
    auto pq = test::fresh();
    std::string input;
    for (int i = 0; i < 15'000; ++i) input += std::to_string(i) + "\n";
    input += "\n{\"a\": nope}\n1\n";
    check_error(run(pq, {"put", "bad", "--ndjson"}, input), 2, "line 15002: malformed JSON at offset 6");
    CHECK(run(pq, {"put", "bad", "--ndjson"}, input).err.find("no job was put") != std::string::npos);
    CHECK(pq["bad"].size() == 0);
    check_error(run(pq, {"put", "bad", "--ndjson", "1"}), 2, "--ndjson reads its jobs from --file or stdin");
  }

  TEST_CASE("jobs --json stays readable by Python's json module with the deepest job pq accepts") {
    auto pq = test::fresh();
    const std::size_t deepest = 512;
    pq["deep"].put(std::string(deepest, '[') + std::string(deepest, ']'));
    check_error(run(pq, {"put", "deep", std::string(deepest + 1, '[') + std::string(deepest + 1, ']')}), 2,
                "nested deeper than 512 levels");
    auto listed = run(pq, {"jobs", "--json"});
    REQUIRE(listed.code == 0);
    const auto path = test::scratch("jobs.json");
    std::ofstream(path) << listed.out;
    REQUIRE(std::system("command -v python3 > /dev/null") == 0);
    const auto command = fmt::format("python3 -c 'import json,sys; json.load(sys.stdin)' < '{}'", path);
    CHECK(std::system(command.c_str()) == 0);
  }

  TEST_CASE("stats count jobs per queue and state; --json for scripts") {
    auto pq = test::fresh();
    auto empty = run(pq, {"stats"});
    CHECK(empty.code == 0);
    CHECK(empty.out.find("no jobs") != std::string::npos);
    CHECK(run(pq, {"stats", "--json"}).out == "[]\n");
    pq["apples"].put("1");
    pq["apples"].put("2");
    pq["apples"].put("3", {.schedule_at = 1h});
    test::force_job(pq, pq["apples"].put("4"), test::kFailed);
    pq["pears"].put("5");
    REQUIRE(pq["pears"].get(0s));
    auto table = run(pq, {"stats"});
    CHECK(table.code == 0);
    CHECK(table.out.find("QUEUE") != std::string::npos);
    CHECK(table.out.find("apples") != std::string::npos);
    CHECK(table.out.find("pears") != std::string::npos);
    auto stats = run(pq, {"stats", "--json"});
    REQUIRE(stats.code == 0);
    simdjson::dom::array queues = json(stats.out);
    REQUIRE(queues.size() == 2);
    auto apples = queues.at(0);
    CHECK(std::string_view(apples["queue"]) == "apples");
    CHECK(int64_t(apples["available"]) == 2);
    CHECK(int64_t(apples["scheduled"]) == 1);
    CHECK(int64_t(apples["failed"]) == 1);
    CHECK(int64_t(apples["finished_last_minute"]) == 1);
    CHECK(double(apples["oldest_available_seconds"]) >= 0.0);
    auto pears = queues.at(1);
    CHECK(int64_t(pears["completed"]) == 1);
    CHECK(pears["oldest_available_seconds"].is_null());
  }

  TEST_CASE("top fits the width of its terminal; very old jobs show as >999d") {
    auto pq = test::fresh();
    pq[std::string(30, 'q')].put("1", {.schedule_at = std::chrono::sys_days{std::chrono::year{1970} / 1 / 1}});
    auto args = connection(pq);
    args.insert(args.begin(), {"top", "--iterations", "1"});
    auto narrow = Child(args, {"COLUMNS=70"}).finish();
    REQUIRE(narrow.code == 0);
    CAPTURE(narrow.out);
    CHECK(narrow.out.find("QUEUE") != std::string::npos);
    for (const auto& line : lines(narrow.out)) CHECK(line.size() <= 70);
    auto wide = Child(args, {"COLUMNS=200"}).finish();
    CHECK(wide.out.find(">999d") != std::string::npos);
    CHECK(wide.out.find("FINISHED/S") != std::string::npos);
  }

  TEST_CASE("top samples until --iterations or SIGINT") {
    auto pq = test::fresh();
    pq["apples"].put("1");
    auto bounded = run(pq, {"top", "--iterations", "2", "--interval", "1"});
    CHECK(bounded.code == 0);
    CHECK(bounded.err.empty());
    auto rows = lines(bounded.out);
    CHECK(std::count(rows.begin(), rows.end(), std::string()) == 1);  // between the two samples
    auto is_apples = [](const std::string& row) { return row.starts_with("apples"); };
    CHECK(std::count_if(rows.begin(), rows.end(), is_apples) == 2);

    auto args = connection(pq);
    args.insert(args.begin(), "top");
    Child live(args);
    REQUIRE(live.read_until("apples"));
    live.signal(SIGINT);
    auto stopped = live.finish();
    CHECK(stopped.code == 0);
    CHECK(stopped.err.empty());
    check_error(run(pq, {"top", "--interval", "0"}), 2, "--interval must be longer than 0s");
    // Without --iterations, only a failed write ends it when its reader is gone.
    check_error(run_to(Stdout::broken, pq, {"top", "--interval", "0.1"}), 3, "cannot write to stdout: Broken pipe");
    CHECK(run(pq, {"top", "--iterations", "2", "--interval", "0.2"}).code == 0);
  }

  TEST_CASE("jobs lists with filters; show prints one job and its error history") {
    auto pq = test::fresh();
    auto eat = pq["a"].put(R"({"x":1})", {.kind = "eat"});
    auto failed = pq["a"].put("2");
    test::force_job(pq, failed, test::kFailed);
    auto other = pq["b"].put("3");
    auto all = run(pq, {"jobs"});
    CHECK(all.code == 0);
    CHECK(lines(all.out).size() == 4);
    CHECK(lines(all.out)[1].find(std::to_string(other)) != std::string::npos);
    auto listed = run(pq, {"jobs", "--queue", "a", "--state", "failed", "--json"});
    REQUIRE(listed.code == 0);
    simdjson::dom::array jobs = json(listed.out);
    REQUIRE(jobs.size() == 1);
    CHECK(int64_t(jobs.at(0)["id"]) == failed);
    CHECK(int64_t(json(run(pq, {"jobs", "--kind", "eat", "--json"}).out).at(0)["id"]) == eat);
    CHECK(simdjson::dom::array(json(run(pq, {"jobs", "--limit", "2", "--json"}).out)).size() == 2);
    CHECK(run(pq, {"jobs", "--queue", "nobody"}).out == "no jobs\n");
    CHECK(run(pq, {"jobs", "--queue", "nobody", "--json"}).out == "[]\n");

    auto shown = run(pq, {"show", std::to_string(failed)});
    CHECK(shown.code == 0);
    CHECK(shown.out.find("failed") != std::string::npos);
    CHECK(shown.out.find("3 of 3") != std::string::npos);
    CHECK(shown.out.find("attempt 3 at 2026-01-01T00:00:00.000000Z: boom") != std::string::npos);
    for (const auto& line : lines(shown.out)) CHECK_FALSE(line.ends_with(' '));
    auto as_json = run(pq, {"show", std::to_string(failed), "--json"});
    REQUIRE(as_json.code == 0);
    CHECK(std::string_view(json(as_json.out)["errors"].at(0)["error"]) == "boom");
    // Error entries stored with a zone offset show in UTC like every other time.
    test::force_job(pq, failed, R"(errors = '[{"attempt": 1, "at": "2026-01-01T01:00:00+01:00", "error": "x"}]')");
    CHECK(run(pq, {"show", std::to_string(failed)}).out.find("attempt 1 at 2026-01-01T00:00:00.000000Z: x") !=
          std::string::npos);
    check_error(run(pq, {"show", "999999"}), 1, "job 999999 not found");
    check_error(run(pq, {"show", "x1"}), 2, "bad job id 'x1'");
  }

  TEST_CASE("retry requeues failed jobs, one by id or a queue's") {
    auto pq = test::fresh();
    auto one = pq["r"].put("1");
    auto two = pq["r"].put("2");
    auto three = pq["r"].put("3");
    for (auto id : {one, two, three}) test::force_job(pq, id, test::kFailed);
    auto retried = run(pq, {"retry", std::to_string(one)});
    CHECK(retried.code == 0);
    CHECK(retried.out == "job " + std::to_string(one) + " is available again\n");
    auto job = pq.job(one);
    CHECK(job->state == pq::JobState::available);
    CHECK(job->max_attempts == 4);
    CHECK(job->errors.find("boom") != std::string::npos);
    check_error(run(pq, {"retry", std::to_string(one)}), 1,
                "job " + std::to_string(one) + " is available; only failed or cancelled jobs can be retried");
    check_error(run(pq, {"retry", "999999"}), 1, "job 999999 not found");
    auto all = run(pq, {"retry", "--queue", "r", "--state", "failed"});
    CHECK(all.code == 0);
    CHECK(all.out == "requeued 2 jobs of queue 'r'\n");
    CHECK(test::state_of(pq, three) == pq::JobState::available);
    CHECK(run(pq, {"retry", "--queue", "r", "--json"}).out == "{\"requeued\":0}\n");
    check_error(run(pq, {"retry"}), 2, "retry needs a job ID or --queue");
    check_error(run(pq, {"retry", "1", "--queue", "r"}), 2, "not both");
    check_error(run(pq, {"retry", "--queue", "r", "--state", "running"}), 2, "only failed or cancelled");
  }

  TEST_CASE("cancel ends waiting jobs, asks running ones to stop, and refuses finished ones") {
    auto pq = test::fresh();
    auto waiting = pq["c"].put("1");
    auto running = pq["c"].put("2");
    test::force_job(pq, running, test::kRunning);
    auto cancelled = run(pq, {"cancel", std::to_string(waiting)});
    CHECK(cancelled.code == 0);
    CHECK(cancelled.out == "job " + std::to_string(waiting) + " cancelled\n");
    CHECK(pq.job(waiting)->finished_at);
    auto requested = run(pq, {"cancel", std::to_string(running), "--json"});
    CHECK(requested.code == 0);
    CHECK(std::string_view(json(requested.out)["outcome"]) == "cancel requested");
    auto job = pq.job(running);
    CHECK(job->state == pq::JobState::running);
    CHECK(job->cancel_requested);
    check_error(run(pq, {"cancel", std::to_string(waiting)}), 1, "is cancelled; only scheduled, available or running");
    check_error(run(pq, {"cancel", "999999"}), 1, "job 999999 not found");
    // Cancelled jobs can be retried.
    CHECK(run(pq, {"retry", std::to_string(waiting)}).code == 0);
    CHECK(test::state_of(pq, waiting) == pq::JobState::available);
  }

  TEST_CASE("cancel and purge answer at once when a transaction holds the job") {
    auto pq = test::fresh();
    auto held = pq["t"].put("1");
    auto finished = pq["t"].put("2");
    test::force_job(pq, finished, test::kCompleted);
    auto tx = pq.begin();
    tx.exec("select id from \"" + pq.options().schema + "\".jobs where queue = 't' for update");
    // The transaction stays open while pq runs: were it to wait for the lock, it would not finish in time.
    auto extra = connection(pq);
    std::vector<std::string> cancel{"cancel", std::to_string(held)};
    cancel.insert(cancel.end(), extra.begin(), extra.end());
    check_error(Child(cancel).finish({}, 60s), 1,
                "job " + std::to_string(held) + " runs in a transaction and cannot be cancelled");
    std::vector<std::string> purge{"purge", "--queue", "t"};
    purge.insert(purge.end(), extra.begin(), extra.end());
    auto purged = Child(purge).finish({}, 60s);
    CHECK(purged.code == 0);
    CHECK(purged.out == "deleted 0 jobs of queue 't'; skipped 1 job held by a running transaction\n");
    tx.rollback();
    CHECK(test::state_of(pq, held) == pq::JobState::available);
    CHECK(run(pq, {"cancel", std::to_string(held)}).code == 0);
  }

  TEST_CASE("purge deletes a queue's finished jobs and says how many") {
    auto pq = test::fresh();
    auto q = pq["p"];
    auto waiting = q.put("1");
    test::force_job(pq, q.put("2"), test::kFailed);
    test::force_job(pq, q.put("3"), test::kCompleted);
    pq["other"].put("4");
    REQUIRE(pq["other"].get(0s));
    CHECK(run(pq, {"purge", "--queue", "p", "--older-than", "7d"}).out == "deleted 0 jobs of queue 'p'\n");
    CHECK(run(pq, {"purge", "--queue", "p", "--state", "failed", "--json"}).out ==
          "{\"deleted\":1,\"skipped\":0}\n");
    CHECK(run(pq, {"purge", "--queue", "p", "--dry-run"}).out ==
          "would delete 1 job of queue 'p' (dry run: nothing deleted)\n");
    CHECK(run(pq, {"purge", "--queue", "p"}).out == "deleted 1 job of queue 'p'\n");
    CHECK(pq.job(waiting));
    CHECK(pq["other"].size() == 0);
    CHECK(test::scalar(pq, "select count(*) from \"" + pq.options().schema + "\".jobs") == "2");
    check_error(run(pq, {"purge", "--queue", "p", "--state", "available"}), 2,
                "available jobs are not finished, and purging them loses them; add --force");
    check_error(run(pq, {"purge", "--queue", "p", "--state", "running", "--dry-run"}), 2, "add --force");
    CHECK(pq.job(waiting));
    CHECK(run(pq, {"purge", "--queue", "p", "--state", "available", "--force", "--dry-run"}).out ==
          "would delete 1 job of queue 'p' (dry run: nothing deleted)\n");
    CHECK(run(pq, {"purge", "--queue", "p", "--dry-run", "--json"}).out == "{\"would_delete\":0}\n");
    CHECK(pq.job(waiting));
    CHECK(run(pq, {"purge", "--queue", "p", "--state", "available", "--force"}).out ==
          "deleted 1 job of queue 'p'\n");
    CHECK_FALSE(pq.job(waiting));
    check_error(run(pq, {"purge"}), 2, "purge needs --queue Q");
    check_error(run(pq, {"purge", "--queue", "p", "--older-than", "5x"}), 2, "bad --older-than '5x'");
  }

  TEST_CASE("migrate installs the schema; version needs no database") {
    pq::PQ pq{test::server().url(), {.schema = pq::testing::unique_name("m")}};
    auto migrated = run(pq, {"migrate"});
    CHECK(migrated.code == 0);
    CHECK(migrated.out == fmt::format("schema '{}' is at version {}\n", pq.options().schema,
                                      pq::PQ::latest_schema_version()));
    CHECK(run(pq, {"migrate", "--json"}).out.find("\"version\":" + std::to_string(pq::PQ::latest_schema_version())) !=
          std::string::npos);
    CHECK(pq.schema_version() == pq::PQ::latest_schema_version());
    auto version = Child({"version", "--db", "postgresql://nobody@127.0.0.1:1/x?connect_timeout=1"}).finish();
    CHECK(version.code == 0);
    CHECK(version.out.starts_with("pq "));
    auto as_json = Child({"version", "--json"}).finish();
    CHECK(int64_t(json(as_json.out)["schema_version"]) == pq::PQ::latest_schema_version());
  }

  TEST_CASE("without --db, DATABASE_URL names the database; --db may come before the command") {
    auto pq = test::fresh();
    pq["env"].put("1");
    auto outcome = Child({"stats", "--schema", pq.options().schema}, {"DATABASE_URL=" + test::server().url()}).finish();
    CHECK(outcome.code == 0);
    CHECK(outcome.out.find("env") != std::string::npos);
    // The connection options may also come before the command.
    auto first = Child({"--db", test::server().url(), "--schema", pq.options().schema, "stats", "--json"}).finish();
    CHECK(first.code == 0);
    CHECK(first.out.find("\"env\"") != std::string::npos);
  }

  TEST_CASE("bad input is a one-line usage error, exit 2") {
    auto pq = test::fresh();
    check_error(run(pq, {"put", "q", R"({"kind": Cox})"}), 2, "malformed JSON at offset 9");
    check_error(run(pq, {"put", "q"}, "{"), 2, "malformed JSON");
    check_error(run(pq, {"put", "q", "1", "--at", "5x"}), 2,
                "pq: bad duration '5x': expected seconds (1.5), or a number followed by ms, s, m, h or d (500ms, 90s, "
                "5m, 2h, 1d), or an ISO-8601 time");
    check_error(run(pq, {"put", "q", "1", "--expected", "2026-02-30T00:00:00Z"}), 2, "is not a date");
    check_error(run(pq, {"put", "q", "1", "--priority", "high"}), 2, "bad --priority 'high': expected an integer");
    check_error(run(pq, {"put", "q", "1", "--priority", "40000"}), 2, "priority 40000 is out of range");
    check_error(run(pq, {"put", "q", "1", "--max-attempts", "0"}), 2, "max_attempts is 0");
    check_error(run(pq, {"put", std::string(129, 'q'), "1"}), 2, "queue name is 129 bytes long");
    check_error(run(pq, {"put", "q", "--file", "/nonexistent/x.json"}), 2, "cannot read '/nonexistent/x.json'");
    check_error(run(pq, {"put"}), 2, "put needs a QUEUE");
    check_error(run(pq, {"put", "q", "1", "2"}), 2, "unexpected argument '2'");
    check_error(run(pq, {"put", "q", "1", "--file", "x.json"}), 2, "not both");
    check_error(run(pq, {"jobs", "--state", "bogus"}), 2, "unknown job state 'bogus'");
    check_error(run(pq, {"jobs", "--limit", "0"}), 2, "limit is 0");
    check_error(run(pq, {"jobs", "--bogus"}), 2, "'bogus' does not exist (see pq jobs --help)");
    check_error(run(pq, {"frobnicate"}), 2, "unknown command 'frobnicate'");
    check_error(run(pq, {"put", "q", "-0"}), 2, "'-0' reads as an option; to give it as a value, put it last, after --");
    check_error(run(pq, {"show", "-5"}), 2, "'-5' reads as an option");
    check_error(Child({"--db"}).finish(), 2, "--db needs a value");
    check_error(run(pq, {"put", "q", "1", "--priority", "-5", "-7"}), 2, "'-7' reads as an option");
    CHECK(test::scalar(pq, "select count(*) from \"" + pq.options().schema + "\".jobs") == "0");
    auto args = connection(pq);
    args.insert(args.end(), {"put", "q", "--", "-0"});
    CHECK(Child(args).finish().code == 0);
  }

  TEST_CASE("a password given with --db does not stay in the command line that ps shows") {
    auto pq = test::fresh();
    const auto& url = test::server().url();  // key=value: host=DIR port=P user=... dbname=...
    auto value_of = [&](std::string_view key) {
      auto at = url.find(std::string(key) + "=") + key.size() + 1;
      return url.substr(at, url.find(' ', at) - at);
    };
    const std::string secret = "s3cret-pw";
    const std::string uri = fmt::format("postgresql://{}:{}@/{}?host={}&port={}", value_of("user"), secret,
                                        value_of("dbname"), value_of("host"), value_of("port"));
    const std::string uri_query = fmt::format("postgresql:///{}?host={}&password={}&port={}&user={}",
                                              value_of("dbname"), value_of("host"), secret, value_of("port"),
                                              value_of("user"));
    for (const auto& db : std::vector<std::vector<std::string>>{
             {"--db", uri}, {"--db=" + uri}, {"--db", uri_query}, {"--db", url + " password=" + secret},
             {"--db=" + url + " password = '" + secret + "'"}}) {
      CAPTURE(db[0]);
      std::vector<std::string> args{"get", "empty", "--wait", "30", "--schema", pq.options().schema};
      args.insert(args.end(), db.begin(), db.end());
      Child blocked(args);
      auto cmdline = [&] {
        return test::read_file(fmt::format("/proc/{}/cmdline", blocked.pid()));
      };
      CHECK(test::wait_until([&] {
        auto text = cmdline();
        return text.find("--wait") != std::string::npos && text.find(secret) == std::string::npos;
      }));
      auto text = cmdline();
      CHECK(text.find("empty") != std::string::npos);
      CHECK(text.find("host=") != std::string::npos);
      CHECK(text.find(std::string(secret.size(), '*')) != std::string::npos);
      blocked.signal(SIGTERM);
      blocked.finish();
    }
  }

  TEST_CASE("an unreachable database is exit 3, one line, and never shows the password") {
    const std::string dead = "postgresql://x:secret@127.0.0.1:1/db?connect_timeout=2";
    for (const auto& args : std::vector<std::vector<std::string>>{
             {"stats"}, {"put", "q", "1"}, {"get", "q"}, {"jobs"}, {"cancel", "1"}, {"migrate"}, {"top"}}) {
      auto with_db = args;
      with_db.insert(with_db.end(), {"--db", dead});
      auto outcome = Child(with_db).finish();
      CAPTURE(args[0]);
      check_error(outcome, 3, "cannot connect to database \"db\" as \"x\" at 127.0.0.1:1");
      CHECK(outcome.err.find("secret") == std::string::npos);
      CHECK(outcome.out.find("secret") == std::string::npos);
    }
  }

  TEST_CASE("a schema without pq's tables is exit 3 with what to do") {
    pq::PQ pq{test::server().url(), {.schema = pq::testing::unique_name("none")}};
    check_error(run(pq, {"stats"}), 3, "run `pq migrate`");
  }

  TEST_CASE("help documents the commands and exit codes") {
    auto help = Child({"--help"}).finish();
    CHECK(help.code == 0);
    for (const char* text : {"exit codes", "0  done", "1  nothing to get", "2  usage error", "3  database error",
                             "put QUEUE", "get QUEUE", "stats", "top", "jobs", "show ID", "retry ID", "cancel ID",
                             "purge", "migrate", "version"}) {
      CAPTURE(text);
      CHECK(help.out.find(text) != std::string::npos);
    }
    auto put = Child({"put", "--help"}).finish();
    CHECK(put.code == 0);
    CHECK(put.out.find("--ndjson") != std::string::npos);
    CHECK(Child({"help", "retry"}).finish().out.find("--state") != std::string::npos);
    auto bare = Child(std::vector<std::string>{}).finish();
    CHECK(bare.code == 2);
    CHECK(bare.err.find("exit codes") != std::string::npos);
  }
}
