// pq-bench: measures pq's enqueue and drain throughput, wake-up latency and worker memory, and in the same run
// the floor that the same server reaches with the minimal equivalent SQL (pgbench scripts on a plain table of
// the same shape, or a bare libpq loop), so that the ratios stay meaningful on a shared, drifting machine.
// This file reads the options and runs the workloads (workloads.hpp) against the floors (floor.hpp), then
// prints the report (report.hpp).
#include <cxxopts.hpp>
#include <fmt/core.h>
#include <stdlib.h>

#include <filesystem>
#include <memory>
#include <optional>
#include <string>
#include <system_error>
#include <vector>

#include "../cli.hpp"
#include "pq/testing.hpp"
#include "bench.hpp"
#include "pq/error.hpp"
#include "report.hpp"
#include "workloads.hpp"

namespace {

using namespace pq::bench;

auto beside_me(const char* name) -> std::string {
  return (fs::read_symlink("/proc/self/exe").parent_path() / name).string();
}

auto parse(int argc, char** argv) -> std::optional<Settings> {
  cxxopts::Options options("pq-bench", "Measures pq against the floor of the same PostgreSQL server.");
  options.add_options()
      ("db", "connection string; default: a throwaway PostgreSQL", cxxopts::value<std::string>())
      ("profile", "the throwaway server's durability: durable (PostgreSQL's defaults) or fast (fsync, "
       "synchronous_commit, full_page_writes, wal_init_zero off); ignored with --db",
       cxxopts::value<std::string>()->default_value("durable"))
      ("quick", "tiny sizes: checks that every workload runs and counts right, measures nothing useful")
      ("json", "print the results as JSON instead of a markdown table")
      ("svg", "write a bar chart of pq against the floor to FILE", cxxopts::value<std::string>())
      ("worker", "the pq-worker binary (default: beside pq-bench)", cxxopts::value<std::string>())
      ("plugin", "the no-op plugin for pq-worker (default: beside pq-bench)", cxxopts::value<std::string>())
      ("only", "comma-separated workloads to run: W1,W1c,W2,W3,W4,W5,memory (default: all);\n"
       "W6, the held xmin horizon, runs only when named",
       cxxopts::value<std::vector<std::string>>())
      ("h,help", "show this help");
  auto parsed = options.parse(argc, argv);
  if (parsed.count("help") != 0U) {
    fmt::print("{}", options.help());
    return std::nullopt;
  }
  if (!parsed.unmatched().empty()) throw pq::UsageError(fmt::format("unexpected argument '{}'", parsed.unmatched().front()));
  Settings settings;
  if (parsed.count("db") != 0U) settings.db = parsed["db"].as<std::string>();
  if (parsed.count("svg") != 0U) settings.svg = parsed["svg"].as<std::string>();
  if (parsed.count("only") != 0U) settings.only = parsed["only"].as<std::vector<std::string>>();
  settings.profile = parsed["profile"].as<std::string>();
  if (settings.profile != "durable" && settings.profile != "fast") {
    throw pq::UsageError(fmt::format("--profile is durable or fast, not '{}'", settings.profile));
  }
  settings.quick = parsed.count("quick") != 0U;
  settings.json = parsed.count("json") != 0U;
  settings.worker = parsed.count("worker") != 0U ? parsed["worker"].as<std::string>() : beside_me("pq-worker");
  settings.plugin =
      parsed.count("plugin") != 0U ? parsed["plugin"].as<std::string>() : beside_me("libpq-bench-noop.so");
  for (const auto& file : {settings.worker, settings.plugin}) {
    if (!fs::exists(file)) throw pq::UsageError(fmt::format("{} does not exist: build it, or name it", file));
  }
  return settings;
}

/// A temporary directory for pgbench's scripts and the children's logs, removed at the end.
class Scratch {
 public:
  Scratch() {
    std::string pattern = (fs::temp_directory_path() / "pq-bench-XXXXXX").string();
    if (::mkdtemp(pattern.data()) == nullptr) throw pq::Error("cannot create a temporary directory");
    path_ = pattern;
  }
  ~Scratch() {
    std::error_code ignored;
    fs::remove_all(path_, ignored);
  }
  Scratch(const Scratch&) = delete;
  auto operator=(const Scratch&) -> Scratch& = delete;
  [[nodiscard]] auto path() const -> const fs::path& { return path_; }

 private:
  fs::path path_;
};

auto run(const Settings& settings) -> int {
  std::unique_ptr<pq::testing::TempPostgres> server;
  if (settings.db.empty()) {
    fmt::print(stderr, "starting a throwaway PostgreSQL ({} profile) ...\n", settings.profile);
    server = std::make_unique<pq::testing::TempPostgres>(pq::testing::TempPostgresOptions{
        .settings = {}, .use_environment = false, .durable = settings.profile == "durable"});
  }
  const std::string url = server ? server->url() : settings.db;
  const Sizes sizes = settings.quick ? kQuick : Sizes{};
  Scratch scratch;
  std::vector<Row> rows;
  ServerProfile profile;
  std::vector<std::string> appendix;
  {
    Bench bench(url, sizes, settings, scratch.path());
    profile = bench.profile();
    rows = bench.run();
    appendix = bench.appendix();
  }
  if (settings.json) {
    print_json(rows, sizes, profile, appendix);
  } else {
    print_markdown(rows, profile);
    for (const auto& text : appendix) fmt::print("\n{}", text);
  }
  if (!settings.svg.empty()) write_svg(rows, settings.svg);
  return 0;
}

}  // namespace

auto main(int argc, char** argv) -> int {
  return pq::tools::guarded_main("pq-bench", [&] {
    try {
      auto settings = parse(argc, argv);
      return settings ? run(*settings) : 0;
    } catch (const pq::bench::Mismatch& error) {
      fmt::print(stderr, "pq-bench: count mismatch: {}\n", error.what());
      return 1;
    }
  });
}
