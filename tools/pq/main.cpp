// pq: the shell face of the library. Each command parses its options, calls the public API and prints a
// table for people or, with --json, JSON for scripts. Exit codes and messages are part of its interface.
// Here: the command table, the options every command takes, and how an error ends pq. The commands are in
// a file per group (produce, consume, inspect, repair, migrate), what they print in output.cpp.
#include <fcntl.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <csignal>
#include <cstdio>
#include <functional>
#include <span>
#include <string>
#include <string_view>
#include <vector>

#include "command.hpp"

namespace pq_cli {

namespace {

constexpr std::string_view kHelp = R"(pq: a PostgreSQL job queue, from the shell.

usage: pq COMMAND [OPTIONS] [ARGUMENTS]

commands:
  put QUEUE [JSON]   put a job (JSON from the argument, --file or stdin; --ndjson: one per line), print its id
  get QUEUE          take the next job, print its JSON and complete it (--keep: only look; --lease D: lease it)
  done ID            complete a job taken with get --lease (--token T)
  fail ID [ERROR]    fail a job taken with get --lease: retried with backoff while attempts remain (--token T)
  stats              jobs per queue: counts by state, oldest waiting job, finished in the last minute
  top                stats as a live table with rates, refreshed every second until Ctrl-C
  jobs               list jobs, newest first (--queue, --state, --kind, --limit)
  show ID            one job, with its error history
  retry ID           requeue a failed or cancelled job (or all of a queue: --queue Q --state failed)
  cancel ID          cancel a waiting job, or ask the worker of a running one to stop it
  purge --queue Q    delete a queue's finished jobs (--state, --older-than 7d, --dry-run)
  pause QUEUE        stop starting the queue's jobs, fleet-wide, until resumed (--kind K, --for 10m, --reason T)
  resume QUEUE       start the queue's jobs again (--kind K), or every paused queue's (--all)
  queues             every queue with jobs or a pause: its pauses and its jobs by state
  migrate            install or upgrade pq's tables and print the schema version
  version            print pq's version

every command takes:
  --db URL           libpq connection string or URI (default: DATABASE_URL, else libpq's PG* variables)
  --schema NAME      schema holding pq's tables (default: pq)
  --json             JSON output for scripts (all but top)

durations (--wait, --lease, --interval, --older-than, --for): seconds (1.5), or a number and a unit: 500ms, 90s, 5m,
2h, 1d; times (--at, --expected): a duration from now, or an ISO-8601 time such as 2026-12-01T10:00:00Z

exit codes:
  0  done
  1  nothing to get, no such job, or a job in a state the command does not apply to
  2  usage error: a bad command, option, argument or input
  3  database error, or any other failure

`pq COMMAND --help` lists a command's options.
)";
// ---- dispatch ------------------------------------------------------------------------------------------

struct Command {
  std::string_view name;
  std::string_view arguments;  // positional, for the usage line
  std::string_view summary;
  std::vector<std::string> positional;
  std::function<void(cxxopts::OptionAdder&)> options;
  std::function<int(Context&)> run;
};

auto commands() -> const std::vector<Command>& {
  using cxxopts::value;
  static const std::vector<Command> all{
      {"put", "QUEUE [JSON]", "Put a job and print its id; --ndjson puts one job per line and prints an id per line.",
       {"queue", "json-text"},
       [](cxxopts::OptionAdder& add) {
         add("file", "read the JSON from file F (- for stdin); without JSON or --file, stdin",
             value<std::string>(), "F")
            ("ndjson", "one job per line, put in batches inside one transaction: all lines or none")
            ("at", "not before then: a delay (90s, 5m, 2h, 1d) or an ISO-8601 time", value<std::string>(), "WHEN")
            ("expected", "when the job is expected to run: orders jobs of equal priority", value<std::string>(),
             "WHEN")
            ("priority", "lower runs first (-32768..32767, default 0)", value<std::string>(), "N")
            ("max-attempts", "attempts before the job fails (default 25)", value<std::string>(), "N")
            ("kind", "the task that handles the job", value<std::string>(), "KIND");
       },
       run_put},
      {"get", "QUEUE", "Take the next job of QUEUE, print its JSON and complete it (with --lease: lease it). Exit "
                       "1 when there is none.",
       {"queue"},
       [](cxxopts::OptionAdder& add) {
         add("wait", "wait up to S seconds (or 2m, ...) for a job, or forever; default: do not wait",
             value<std::string>(), "S")
            ("keep", "only look: print the job a get would take, and leave it")
            ("lease", "lease the job for D (30s, 5m) instead of completing it: prints \"ID TOKEN\", then the "
                      "JSON; finish it with pq done or pq fail",
             value<std::string>(), "D")
            ("delete-completed", "delete the job taken instead of keeping it as completed");
       },
       run_get},
      {"done", "ID --token T", "Complete a job taken with pq get --lease. Exit 1 when its lease has passed on.",
       {"id"},
       [](cxxopts::OptionAdder& add) {
         add("token", "the token pq get --lease printed", value<std::string>(), "T")
            ("delete-completed", "delete the job instead of keeping it as completed");
       },
       run_done},
      {"fail", "ID [ERROR] --token T",
       "Record ERROR for a job taken with pq get --lease: it runs again after a backoff while attempts remain, "
       "else it fails. Exit 1 when its lease has passed on.",
       {"id", "error"},
       [](cxxopts::OptionAdder& add) { add("token", "the token pq get --lease printed", value<std::string>(), "T"); },
       run_fail},
      {"stats", "", "Per queue: jobs by state, how long the oldest available job has waited, jobs finished in the "
                    "last minute.",
       {}, [](cxxopts::OptionAdder&) {}, run_stats},
      {"top", "", "Stats as a live table with rates (jobs finished per second), until Ctrl-C.",
       {},
       [](cxxopts::OptionAdder& add) {
         add("interval", "seconds between samples: 1 (default), 5s, 1m", value<std::string>(), "S")
            ("iterations", "stop after N samples (default 0: until Ctrl-C)", value<std::string>(), "N");
       },
       run_top},
      {"jobs", "", "List jobs, newest first.",
       {},
       [](cxxopts::OptionAdder& add) {
         add("queue", "only this queue", value<std::string>(), "Q")
            ("state", "only this state: scheduled, available, running, completed, failed or cancelled",
             value<std::string>(), "S")
            ("kind", "only this kind", value<std::string>(), "K")
            ("limit", "at most N jobs (default 100)", value<std::string>(), "N");
       },
       run_jobs},
      {"show", "ID", "One job, with its error history.", {"id"}, [](cxxopts::OptionAdder&) {}, run_show},
      {"retry", "ID | --queue Q [--state S]",
       "Make a failed or cancelled job available again, with one more attempt if it had none left; its error "
       "history stays. With --queue, every such job of the queue.",
       {"id"},
       [](cxxopts::OptionAdder& add) {
         add("queue", "retry the jobs of this queue", value<std::string>(), "Q")
            ("state", "with --queue: failed (default) or cancelled", value<std::string>(), "S");
       },
       run_retry},
      {"cancel", "ID",
       "Cancel a scheduled or available job. A running job is asked to stop: its worker sees the request at its "
       "next heartbeat. A job held by a transaction (a transactional task) cannot be cancelled, and pq says so "
       "at once.",
       {"id"}, [](cxxopts::OptionAdder&) {}, run_cancel},
      {"purge", "--queue Q",
       "Delete the finished (completed, failed, cancelled) jobs of a queue and say how many. Jobs held by a "
       "running transaction are skipped, not waited for.",
       {},
       [](cxxopts::OptionAdder& add) {
         add("queue", "the queue (required)", value<std::string>(), "Q")
            ("state", "only this state: completed, failed or cancelled; an unfinished one needs --force",
             value<std::string>(), "S")
            ("force", "allow --state scheduled, available or running: deletes jobs that have not run")
            ("dry-run", "only count the jobs that would be deleted")
            ("older-than", "only jobs finished (unfinished: enqueued) longer ago than this, e.g. 7d",
             value<std::string>(), "D");
       },
       run_purge},
      {"pause", "QUEUE",
       "Pause the starts of QUEUE's jobs (or of one kind), for every worker and client, until resumed or for a "
       "while. Running jobs finish; puts go on.",
       {"queue"},
       [](cxxopts::OptionAdder& add) {
         add("kind", "pause only jobs of kind K", value<std::string>(), "K")
            ("new-kind", "allow a kind the queue has no job of yet (else an error: a misspelt kind)")
            ("for", "end the pause by itself after D (10m, 2h)", value<std::string>(), "D")
            ("reason", "why, shown by pq queues", value<std::string>(), "T")
            ("cancel-running", "ask the running jobs in scope to stop, as pq cancel does");
       },
       run_pause},
      {"resume", "QUEUE | --all", "End QUEUE's pause (or one kind's: --kind K), or every pause (--all), and wake "
                                  "the workers at once. Exit 1 when it was not paused.",
       {"queue"},
       [](cxxopts::OptionAdder& add) {
         add("kind", "resume only jobs of kind K", value<std::string>(), "K")
            ("all", "end every pause of every queue");
       },
       run_resume},
      {"queues", "", "Every queue that holds jobs or is paused: its pauses (until when, why) and its jobs by "
                     "state.",
       {}, [](cxxopts::OptionAdder&) {}, run_queues},
      {"migrate", "", "Install or upgrade pq's tables in the schema and print its version.", {},
       [](cxxopts::OptionAdder&) {}, run_migrate},
      {"version", "", "Print pq's version and the schema version it installs.", {}, [](cxxopts::OptionAdder&) {},
       run_version},
  };
  return all;
}

auto find_command(std::string_view name) -> const Command* {
  for (const auto& command : commands()) {
    if (command.name == name) return &command;
  }
  return nullptr;
}

auto make_options(const Command& command) -> cxxopts::Options {
  cxxopts::Options options(fmt::format("pq {}", command.name), std::string(command.summary));
  options.positional_help(std::string(command.arguments));
  auto specific = options.add_options();
  command.options(specific);
  auto common = options.add_options("connection");
  common("db", "libpq connection string or URI (default: DATABASE_URL, else PG* variables)",
         cxxopts::value<std::string>(), "URL")
      ("schema", "schema holding pq's tables", cxxopts::value<std::string>()->default_value("pq"), "NAME")
      ("h,help", "show this help");
  if (command.name != "top") common("json", "print JSON for scripts");
  auto positional = options.add_options("positional");
  for (const auto& name : command.positional) positional(name, "", cxxopts::value<std::string>());
  options.parse_positional(command.positional);
  return options;
}

/// The index of the command word: the first argument that is neither an option nor the value of one of the
/// connection options, which may come before it (`pq --db URL stats`).
auto command_index(std::span<char*> argv) -> std::size_t {
  for (std::size_t i = 1; i < argv.size(); ++i) {
    const std::string_view arg = argv[i];
    if (arg == "--db" || arg == "--schema") {
      if (++i == argv.size()) {
        throw pq::UsageError(fmt::format("{} needs a value: {} (see pq --help)", arg,
                                         arg == "--db" ? "a connection string or URI" : "a schema name"));
      }
    } else if (!arg.starts_with('-')) {
      return i;
    }
  }
  return 0;
}

auto run(std::span<char*> argv) -> int {
  const auto at = command_index(argv);
  const std::string_view name = at == 0 ? "" : argv[at];
  const bool asked_for_help = std::any_of(argv.begin() + 1, argv.end(), [](const char* arg) {
    return std::string_view(arg) == "--help" || std::string_view(arg) == "-h";
  });
  if (argv.size() == 1) {
    fmt::print(stderr, "{}", kHelp);
    return kUsage;
  }
  if (name.empty() && !asked_for_help) throw pq::UsageError("no command given (see pq --help)");
  if (name.empty() || name == "help") {
    const auto* topic = name == "help" && at + 1 < argv.size() ? find_command(argv[at + 1]) : nullptr;
    fmt::print("{}", topic != nullptr ? make_options(*topic).help({"", "connection"}) : std::string(kHelp));
    return kOk;
  }
  const auto* command = find_command(name);
  if (command == nullptr) {
    throw pq::UsageError(fmt::format("unknown command '{}' (see pq --help)", cell(name, 40)));
  }
  auto options = make_options(*command);
  std::vector<char*> rest{argv[0]};
  for (std::size_t i = 1; i < argv.size(); ++i) {
    if (i != at) rest.push_back(argv[i]);
  }
  cxxopts::ParseResult args;
  try {
    args = options.parse(static_cast<int>(rest.size()), rest.data());
  } catch (const cxxopts::exceptions::exception& error) {
    // "-5" or "-0" reads as options named 5 and 0: say how to give it as a value instead.
    auto is_negative = [](std::string_view arg) { return arg.size() > 1 && arg[0] == '-' && arg[1] >= '0' && arg[1] <= '9'; };
    for (std::size_t i = 1; i < rest.size(); ++i) {
      const std::string_view before = rest[i - 1];
      const bool option_value = i > 1 && before.starts_with('-') && !is_negative(before) &&
                                before.find('=') == std::string_view::npos;
      if (!is_negative(rest[i]) || option_value ||
          dynamic_cast<const cxxopts::exceptions::no_such_option*>(&error) == nullptr) {
        continue;
      }
      throw pq::UsageError(fmt::format("'{}' reads as an option; to give it as a value, put it last, after --: "
                                       "pq {} [OPTIONS] -- {}",
                                       cell(rest[i], 40), command->name, cell(rest[i], 40)));
    }
    throw pq::UsageError(fmt::format("{} (see pq {} --help)", error.what(), command->name));
  }
  // Parsed into strings of its own: the password need not stay where `ps` shows it to every local user.
  pq::hide_password_in_argv(static_cast<int>(argv.size()), argv.data());
  if (args.count("help") > 0) {
    fmt::print("{}", options.help({"", "connection"}));
    return kOk;
  }
  if (!args.unmatched().empty()) {
    throw pq::UsageError(fmt::format("unexpected argument '{}' (see pq {} --help)", cell(args.unmatched().front(), 40),
                                     command->name));
  }
  Context ctx(std::string(command->name), std::move(args));
  return command->run(ctx);
}

/// Started with stdin, stdout or stderr closed, the next descriptor opened (the database socket) would take
/// its number, and the output would go to the server. Each closed one is held by /dev/null opened in the
/// wrong direction instead, so that using it fails as a closed one does.
void keep_standard_descriptors() {
  for (int fd : {STDIN_FILENO, STDOUT_FILENO, STDERR_FILENO}) {
    if (::fcntl(fd, F_GETFD) != -1 || errno != EBADF) continue;
    const int held = ::open("/dev/null", fd == STDIN_FILENO ? O_WRONLY : O_RDONLY);
    if (held >= 0 && held != fd) {
      ::dup2(held, fd);
      ::close(held);
    }
  }
}

}  // namespace

}  // namespace pq_cli

auto main(int argc, char** argv) -> int {
  using namespace pq_cli;
  auto fail = [](int code, std::string_view message) {
    std::fflush(stdout);
    fmt::print(stderr, "pq: {}\n", pq::one_line(message));
    return code;
  };
  // A closed pipe must be an EPIPE error that keeps the job, not a silent death by SIGPIPE.
  std::signal(SIGPIPE, SIG_IGN);
  keep_standard_descriptors();
  try {
    const int code = run(std::span<char*>(argv, static_cast<std::size_t>(argc)));
    flush_output();
    return code;
  } catch (const Nothing& nothing) {
    return fail(kNothing, nothing.what());
  } catch (const pq::UsageError& error) {
    return fail(kUsage, error.what());
  } catch (const pq::JsonError& error) {
    return fail(kUsage, error.what());
  } catch (const std::exception& error) {
    return fail(kFailure, error.what());
  }
}
