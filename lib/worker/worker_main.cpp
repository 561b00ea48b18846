// pq-worker's main, also offered to applications that link their own handlers.
#include <cxxopts.hpp>
#include <fmt/core.h>


#include "pq/cli.hpp"
#include "pq/duration.hpp"
#include "pq/error.hpp"
#include "pq/worker.hpp"

namespace pq {
namespace {

constexpr int kUsage = 2;
constexpr int kDatabase = 3;

// Durations in pq's one syntax (pq::parse_duration: 30s, 1.5, 500ms, 2m), as milliseconds.
auto duration(const cxxopts::ParseResult& args, const char* option) -> std::chrono::milliseconds {
  try {
    return std::chrono::duration_cast<std::chrono::milliseconds>(parse_duration(args[option].as<std::string>()));
  } catch (const UsageError& error) {
    throw UsageError(fmt::format("--{}: {}", option, error.what()));
  }
}

auto split(const std::string& list) -> std::vector<std::string> {
  std::vector<std::string> out;
  std::size_t start = 0;
  for (std::size_t comma = list.find(','); ; comma = list.find(',', start)) {
    auto item = list.substr(start, comma == std::string::npos ? std::string::npos : comma - start);
    if (!item.empty()) out.push_back(item);
    if (comma == std::string::npos) break;
    start = comma + 1;
  }
  return out;
}

auto options_spec(const char* program) -> cxxopts::Options {
  cxxopts::Options options(program, "Runs the handlers of pq jobs: registered in the program, loaded from plugins, "
                                    "or commands.\nExit status: 0 stopped cleanly, 2 usage error, 3 database error.");
  options.add_options()
      ("db", "connection string or URI (default: DATABASE_URL, else libpq's PG* variables)",
       cxxopts::value<std::string>())
      ("schema", "schema holding pq's tables", cxxopts::value<std::string>()->default_value("pq"))
      ("queues", "comma-separated queues to work (default: every queue with a handler)",
       cxxopts::value<std::string>())
      ("concurrency", "jobs run at once", cxxopts::value<int>()->default_value("10"))
      ("max-connections", "most pooled connections, one per running transactional job (default: concurrency + 2)",
       cxxopts::value<int>())
      ("prefetch", "most jobs claimed ahead of free slots, when jobs are short (0: none)",
       cxxopts::value<int>()->default_value("1000"))
      ("lease", "how long a claimed job is leased; heartbeats renew it", cxxopts::value<std::string>()->default_value("30s"))
      ("grace", "how long running jobs may finish at shutdown (a second SIGTERM ends it)",
       cxxopts::value<std::string>()->default_value("30s"))
      ("plugin", "shared library whose PQ_PLUGIN registers tasks (repeatable)", cxxopts::value<std::vector<std::string>>())
      ("exec", "KIND=COMMAND: run COMMAND under /bin/sh -c for jobs of KIND, JSON on stdin (repeatable)",
       cxxopts::value<std::vector<std::string>>())
      ("timeout", "how long an --exec command may run before its process group is killed",
       cxxopts::value<std::string>()->default_value("30m"))
      ("max-attempts", "most attempts of an --exec job; a job's own max_attempts, if lower, wins",
       cxxopts::value<int>()->default_value("25"))
      ("retry-in", "fixed delay between attempts of --exec jobs (default: exponential backoff)",
       cxxopts::value<std::string>())
      ("burst", "return once the queues have nothing available")
      ("burst-wait", "with --burst, first wait for scheduled jobs (retries) due within this long",
       cxxopts::value<std::string>()->default_value("0s"))
      ("no-rescue", "leave jobs whose lease expired to pq-scheduler")
      ("no-listen", "poll only, without LISTEN/NOTIFY (behind a transaction-pooling PgBouncer)")
      ("no-prepare", "do not use named prepared statements (PgBouncer before 1.21)")
      ("delete-completed", "delete each job the moment it completes instead of keeping it for pq-scheduler's pruner "
                           "(failed and cancelled jobs are kept)")
      ("q,quiet", "log warnings and errors only")
      ("v,verbose", "log debug events too")
      ("h,help", "show this help");
  return options;
}

}  // namespace

auto worker_main(int argc, char** argv, Registry registry) -> int {
  auto spec = options_spec(argc > 0 ? argv[0] : "pq-worker");
  try {
    auto args = spec.parse(argc, argv);
    hide_password_in_argv(argc, argv);
    if (args.count("help") != 0U) {
      fmt::print("{}", spec.help());
      return 0;
    }
    if (!args.unmatched().empty()) throw UsageError(fmt::format("unexpected argument '{}'", args.unmatched().front()));
    if (args.count("verbose") != 0U && args.count("quiet") != 0U) {
      throw UsageError("--quiet and --verbose contradict each other: give one");
    }
    const auto text = [&](const char* option) {
      return args.count(option) != 0U ? args[option].as<std::string>() : std::string();
    };
    const auto level = args.count("verbose") != 0U ? LogLevel::debug
                       : args.count("quiet") != 0U ? LogLevel::warning
                                                   : LogLevel::info;
    WorkerOptions options{
        .queues = split(text("queues")),
        .concurrency = args["concurrency"].as<int>(),
        .prefetch = args["prefetch"].as<int>(),
        .lease = duration(args, "lease"),
        .shutdown_grace = duration(args, "grace"),
        .burst = args.count("burst") != 0U,
        .burst_wait = duration(args, "burst-wait"),
        .rescue = args.count("no-rescue") == 0U,
        .handle_signals = true,
        .id = {},
        .log = stderr_log(level),
    };
    if (args.count("plugin") != 0U) {
      for (const auto& path : args["plugin"].as<std::vector<std::string>>()) load_plugin(path, registry);
    }
    if (args.count("exec") != 0U) {
      if (options.queues.empty()) throw UsageError("--exec needs --queues: the queues whose jobs the commands run");
      TaskOptions task{.max_attempts = args["max-attempts"].as<int>(),
                       .timeout = duration(args, "timeout")};
      if (args.count("retry-in") != 0U) task.retry_in = duration(args, "retry-in");
      for (const auto& spec_text : args["exec"].as<std::vector<std::string>>()) {
        auto equals = spec_text.find('=');
        if (equals == 0 || equals == std::string::npos) {
          throw UsageError(fmt::format("--exec expects KIND=COMMAND, got '{}'", spec_text));
        }
        for (const auto& queue : options.queues) {
          registry.add(exec_handler(queue, spec_text.substr(0, equals), spec_text.substr(equals + 1), task));
        }
      }
    }
    if (options.queues.empty() && registry.queues().empty()) {
      throw UsageError("no queues to work: name them with --queues, and give handlers with --plugin or --exec");
    }
    const int connections = args.count("max-connections") != 0U ? args["max-connections"].as<int>()
                                                                 : options.concurrency + 2;
    if (connections < 1 || connections > 10000) {
      throw UsageError(fmt::format("--max-connections must be between 1 and 10000, got {}", connections));
    }
    PQ pq{text("db"),
          {.schema = args["schema"].as<std::string>(),
           .max_connections = static_cast<std::size_t>(connections),
           .listen = args.count("no-listen") == 0U,
           .prepare = args.count("no-prepare") == 0U,
           .keep_completed = args.count("delete-completed") == 0U}};
    pq.registry().merge(registry);
    Worker worker(pq, std::move(options));
    worker.run();
    return 0;
  } catch (const cxxopts::exceptions::exception& error) {
    fmt::print(stderr, "{}: {}\n", spec.program(), one_line(error.what()));
    return kUsage;
  } catch (const UsageError& error) {
    fmt::print(stderr, "{}: {}\n", spec.program(), one_line(error.what()));
    return kUsage;
  } catch (const std::exception& error) {
    fmt::print(stderr, "{}: {}\n", spec.program(), one_line(error.what()));
    return kDatabase;
  }
}

}  // namespace pq
