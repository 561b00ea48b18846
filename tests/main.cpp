// One PostgreSQL server for the whole run of this test program, then the doctest suites.
#define DOCTEST_CONFIG_IMPLEMENT
#include <doctest/doctest.h>

#include <iostream>
#include <memory>

#include "support.hpp"

namespace {
std::unique_ptr<pq::testing::TempPostgres> the_server;
}

namespace test {

auto server() -> pq::testing::TempPostgres& { return *the_server; }

auto fresh(pq::ConnectionOptions options) -> pq::PQ {
  options.schema = pq::testing::unique_name("t");
  pq::PQ pq{server().url(), options};
  pq.create();
  return pq;
}

auto tagged(const std::string& url, const std::string& application) -> std::string {
  if (!url.starts_with("postgres")) return url + " application_name=" + application;
  return url + (url.find('?') == std::string::npos ? "?" : "&") + "application_name=" + application;
}

auto jobs_table(const pq::PQ& pq) -> std::string { return "\"" + pq.options().schema + "\".jobs"; }

void exec(pq::PQ& pq, const std::string& sql) {
  auto tx = pq.begin();
  tx.exec(sql);
  tx.commit();
}

auto scalar(pq::PQ& pq, const std::string& sql) -> std::string {
  auto tx = pq.begin();
  auto result = tx.exec(sql);
  std::string value(result.get(0, 0));
  tx.commit();
  return value;
}

auto literal(std::string_view text) -> std::string {
  std::string out = "'";
  for (char c : text) out += c == '\'' ? std::string("''") : std::string(1, c);
  return out + "'";
}

void check_round_trip(pq::Queue queue, pq::Wait wait) {
  auto id = queue.put(R"({"x":1})");
  auto job = queue.get(wait);
  REQUIRE(job);
  CHECK(job->id == id);
  CHECK(job->queue == queue.name());
}

auto burst(std::vector<std::string> queues, LogCapture& log, int concurrency) -> pq::WorkerOptions {
  return {.queues = std::move(queues),
          .concurrency = concurrency,
          .burst = true,
          .handle_signals = false,
          .log = log.sink()};
}

void force_job(pq::PQ& pq, std::int64_t id, const std::string& assignments) {
  scalar(pq, "update \"" + pq.options().schema + "\".jobs set " + assignments + " where id = " + std::to_string(id) +
                 " returning id");
}

auto state_of(pq::PQ& pq, std::int64_t id) -> pq::JobState {
  auto job = pq.job(id);
  REQUIRE(job);
  return job->state;
}

}  // namespace test

auto main(int argc, char** argv) -> int {
  doctest::Context context(argc, argv);
  if (context.shouldExit()) return context.run();
  try {
    the_server = std::make_unique<pq::testing::TempPostgres>();
  } catch (const std::exception& error) {
    // A suite that cannot reach its server fails; it never skips.
    std::cerr << "cannot start the test server: " << error.what() << "\n";
    return 1;
  }
  int result = context.run();
  the_server.reset();
  return result;
}
