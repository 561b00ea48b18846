// pq-scheduler: promotes due delayed and retry jobs, rescues jobs of dead workers, prunes history. Any number
// may run; one leads.
#include <cxxopts.hpp>
#include <fmt/core.h>

#include <cmath>

#include "pq/error.hpp"
#include "pq/scheduler.hpp"
#include "cli.hpp"

namespace {

auto milliseconds(double seconds, const char* option) -> std::chrono::milliseconds {
  if (!std::isfinite(seconds) || seconds <= 0 || seconds > 1e9) {
    throw pq::UsageError(fmt::format("--{} must be a positive number of seconds, got {}", option, seconds));
  }
  return std::chrono::milliseconds{static_cast<std::int64_t>(seconds * 1000)};
}

}  // namespace

auto main(int argc, char** argv) -> int {
  cxxopts::Options spec("pq-scheduler", "The pq maintenance daemon.\n"
                                        "Exit status: 0 stopped cleanly, 2 usage error, 3 database error.");
  spec.add_options()
      ("db", "connection string or URI (default: DATABASE_URL, else libpq's PG* variables)",
       cxxopts::value<std::string>()->default_value(""))
      ("schema", "schema holding pq's tables", cxxopts::value<std::string>()->default_value("pq"))
      ("interval", "seconds between rounds", cxxopts::value<double>()->default_value("1"))
      ("retention", "days completed and cancelled jobs are kept", cxxopts::value<double>()->default_value("7"))
      ("failed-retention", "days failed jobs are kept", cxxopts::value<double>()->default_value("30"))
      ("leader-ttl", "seconds of the leadership lease", cxxopts::value<double>()->default_value("10"))
      ("no-prepare", "do not use named prepared statements (PgBouncer before 1.21)")
      ("q,quiet", "log warnings and errors only")
      ("v,verbose", "log debug events too")
      ("h,help", "show this help");
  return pq::tools::guarded_main("pq-scheduler", [&] {
    auto args = spec.parse(argc, argv);
    if (args.count("help") != 0U) {
      fmt::print("{}", spec.help());
      return 0;
    }
    if (!args.unmatched().empty()) {
      throw pq::UsageError(fmt::format("unexpected argument '{}'", args.unmatched().front()));
    }
    auto level = args.count("verbose") != 0U ? pq::LogLevel::debug
                 : args.count("quiet") != 0U ? pq::LogLevel::warning
                                             : pq::LogLevel::info;
    auto days = [&](const char* option) {
      return std::chrono::duration_cast<std::chrono::microseconds>(
          milliseconds(args[option].as<double>() * 86400.0, option));
    };
    pq::PQ pq{args["db"].as<std::string>(),
              {.schema = args["schema"].as<std::string>(), .prepare = args.count("no-prepare") == 0U}};
    pq::Scheduler scheduler(pq, {.interval = milliseconds(args["interval"].as<double>(), "interval"),
                                 .retention = days("retention"),
                                 .failed_retention = days("failed-retention"),
                                 .leader_ttl = milliseconds(args["leader-ttl"].as<double>(), "leader-ttl"),
                                 .log = pq::stderr_log(level)});
    scheduler.run();
    return 0;
  });
}
