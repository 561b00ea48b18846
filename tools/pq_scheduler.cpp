// pq-scheduler: promotes due delayed and retry jobs, rescues jobs of dead workers, prunes history. Any number
// may run; one leads.
#include <cxxopts.hpp>
#include <fmt/core.h>

#include <cctype>

#include "pq/cli.hpp"
#include "pq/duration.hpp"
#include "pq/error.hpp"
#include "pq/scheduler.hpp"
#include "cli.hpp"

namespace {

// Durations in pq's one syntax (pq::parse_duration: 1s, 0.2, 500ms, 7d).
auto duration(const cxxopts::ParseResult& args, const std::string& option) -> std::chrono::microseconds {
  const auto text = args[option].as<std::string>();
  // A retention was once a bare number of days; as seconds now, it would delete history a day early per
  // second meant. A unit makes it unambiguous.
  if (option.ends_with("retention") && !text.empty() && std::isdigit(static_cast<unsigned char>(text.back()))) {
    throw pq::UsageError(fmt::format("--{} needs a unit, such as 7d or 12h, got '{}'", option, text));
  }
  try {
    auto value = pq::parse_duration(text);
    if (value <= std::chrono::microseconds::zero()) throw pq::UsageError("it must be more than zero");
    return value;
  } catch (const pq::UsageError& error) {
    throw pq::UsageError(fmt::format("--{}: {}", option, error.what()));
  }
}

auto milliseconds(std::chrono::microseconds value) -> std::chrono::milliseconds {
  return std::chrono::duration_cast<std::chrono::milliseconds>(value);
}

}  // namespace

auto main(int argc, char** argv) -> int {
  cxxopts::Options spec("pq-scheduler", "The pq maintenance daemon.\n"
                                        "Exit status: 0 stopped cleanly, 2 usage error, 3 database error.");
  spec.add_options()
      ("db", "connection string or URI (default: DATABASE_URL, else libpq's PG* variables)",
       cxxopts::value<std::string>())
      ("schema", "schema holding pq's tables", cxxopts::value<std::string>()->default_value("pq"))
      ("interval", "time between rounds", cxxopts::value<std::string>()->default_value("1s"))
      ("retention", "how long completed and cancelled jobs are kept", cxxopts::value<std::string>()->default_value("7d"))
      ("failed-retention", "how long failed jobs are kept", cxxopts::value<std::string>()->default_value("30d"))
      ("leader-ttl", "the leadership lease, longer than --interval", cxxopts::value<std::string>()->default_value("10s"))
      ("no-prepare", "do not use named prepared statements (PgBouncer before 1.21)")
      ("q,quiet", "log warnings and errors only")
      ("v,verbose", "log debug events too")
      ("h,help", "show this help");
  return pq::tools::guarded_main("pq-scheduler", [&] {
    auto args = spec.parse(argc, argv);
    pq::hide_password_in_argv(argc, argv);
    if (args.count("help") != 0U) {
      fmt::print("{}", spec.help());
      return 0;
    }
    if (!args.unmatched().empty()) {
      throw pq::UsageError(fmt::format("unexpected argument '{}'", args.unmatched().front()));
    }
    if (args.count("verbose") != 0U && args.count("quiet") != 0U) {
      throw pq::UsageError("--quiet and --verbose contradict each other: give one");
    }
    auto level = args.count("verbose") != 0U ? pq::LogLevel::debug
                 : args.count("quiet") != 0U ? pq::LogLevel::warning
                                             : pq::LogLevel::info;
    const auto interval = milliseconds(duration(args, "interval"));
    const auto leader_ttl = milliseconds(duration(args, "leader-ttl"));
    if (leader_ttl <= interval) {
      throw pq::UsageError(fmt::format("--leader-ttl ({} ms) must be longer than --interval ({} ms), or leadership "
                                       "lapses between rounds",
                                       leader_ttl.count(), interval.count()));
    }
    pq::PQ pq{args.count("db") != 0U ? args["db"].as<std::string>() : std::string(),
              {.schema = args["schema"].as<std::string>(), .prepare = args.count("no-prepare") == 0U}};
    pq::Scheduler scheduler(pq, {.interval = interval,
                                 .retention = duration(args, "retention"),
                                 .failed_retention = duration(args, "failed-retention"),
                                 .leader_ttl = leader_ttl,
                                 .log = pq::stderr_log(level)});
    scheduler.run();
    return 0;
  });
}
