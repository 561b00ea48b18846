// pq-demo: a producer puts jobs while consumers drain them, against a throwaway PostgreSQL (or --db).
#include <cxxopts.hpp>
#include <fmt/core.h>
#include <unistd.h>

#include <atomic>
#include <charconv>
#include <cstdint>
#include <chrono>
#include <optional>
#include <thread>
#include <vector>

#include "pq/pq.hpp"
#include "cli.hpp"

using namespace std::chrono_literals;

namespace {

struct Settings {
  std::string db;
  int jobs = 20000;
  int consumers = 4;
  int batch = 500;
};

auto parse(int argc, char** argv) -> std::optional<Settings> {
  cxxopts::Options options("pq-demo", "Puts jobs while consumers drain them, and shows the progress.");
  options.add_options()
      ("db", "connection string; default: a throwaway local PostgreSQL", cxxopts::value<std::string>())
      ("jobs", "how many jobs to put", cxxopts::value<int>()->default_value("20000"))
      ("consumers", "consumer threads", cxxopts::value<int>()->default_value("4"))
      ("batch", "jobs per put_many (1 = one put per job)", cxxopts::value<int>()->default_value("500"))
      ("h,help", "show this help");
  auto parsed = options.parse(argc, argv);
  if (parsed.count("help") != 0U) {
    fmt::print("{}", options.help());
    return std::nullopt;
  }
  Settings settings;
  if (parsed.count("db") != 0U) settings.db = parsed["db"].as<std::string>();
  settings.jobs = parsed["jobs"].as<int>();
  settings.consumers = parsed["consumers"].as<int>();
  settings.batch = parsed["batch"].as<int>();
  if (settings.jobs < 1 || settings.consumers < 1 || settings.batch < 1) {
    throw pq::UsageError("--jobs, --consumers and --batch must be at least 1");
  }
  return settings;
}

// The job's "n" (jsonb hands the data back as {"n": 12, ...}).
auto number_of(std::string_view data) -> std::size_t {
  auto at = data.find(':');
  std::size_t n = SIZE_MAX;
  if (at != std::string_view::npos) std::from_chars(data.data() + at + 2, data.data() + data.size(), n);
  return n;
}

auto run(const Settings& settings) -> int {
  const auto database = pq::tools::given_or_throwaway(settings.db);
  const auto& db = database.url;
  if (database.server) {
    fmt::print(stderr, "PostgreSQL is up in {} (port {})\n", database.server->directory(), database.server->port());
  }
  pq::PQ pq{db, {.max_connections = static_cast<std::size_t>(settings.consumers) + 2}};
  fmt::print(stderr, "schema version {} installed on {}\n", pq.create(), pq.describe());
  auto queue = pq["demo"];
  queue.clear();

  std::atomic<int> produced{0};
  std::atomic<int> consumed{0};
  std::vector<std::atomic<int>> seen(static_cast<std::size_t>(settings.jobs));
  const auto started = std::chrono::steady_clock::now();

  std::thread producer([&] {
    std::vector<std::string> batch;
    for (int n = 0; n < settings.jobs;) {
      batch.clear();
      for (int i = 0; i < settings.batch && n < settings.jobs; ++i, ++n) {
        batch.push_back(fmt::format(R"({{"n":{},"fruit":"apple"}})", n));
      }
      queue.put_many(batch);
      produced += static_cast<int>(batch.size());
    }
  });
  std::vector<std::thread> consumers;
  for (int c = 0; c < settings.consumers; ++c) {
    consumers.emplace_back([&] {
      auto mine = pq["demo"];
      while (consumed.load() < settings.jobs) {
        if (auto job = mine.get(200ms)) {
          if (auto n = number_of(job->data); n < seen.size()) ++seen[n];
          ++consumed;
        }
      }
    });
  }

  const bool terminal = ::isatty(STDERR_FILENO) != 0;
  auto report = [&](bool final) {
    auto seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - started).count();
    auto line = fmt::format("produced {:>7}/{}  consumed {:>7}  backlog {:>6}  {:>8.0f} jobs/s", produced.load(),
                            settings.jobs, consumed.load(), produced.load() - consumed.load(),
                            consumed.load() / std::max(seconds, 1e-3));
    const bool overwrite = terminal && !final;
    fmt::print(stderr, "{}{}{}", overwrite ? "\r" : "", line, overwrite ? "" : "\n");
  };
  for (;;) {
    std::this_thread::sleep_for(terminal ? 200ms : 1s);
    if (consumed.load() >= settings.jobs) break;
    report(false);
  }
  producer.join();
  for (auto& consumer : consumers) consumer.join();
  report(true);

  int once = 0;
  for (const auto& count : seen) once += count.load() == 1 ? 1 : 0;
  auto seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - started).count();
  fmt::print("{} jobs put, {} taken exactly once, {} left in the queue, in {:.2f} s\n", settings.jobs, once,
             queue.size(), seconds);
  return once == settings.jobs ? 0 : 1;
}

}  // namespace

auto main(int argc, char** argv) -> int {
  return pq::tools::guarded_main("pq-demo", [&] {
    auto settings = parse(argc, argv);
    return settings ? run(*settings) : 0;
  });
}
