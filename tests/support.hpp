// Shared by every suite: the one server of this test run, a fresh schema per test, waiting with deadlines.
#pragma once

#include <doctest/doctest.h>

#include <chrono>
#include <mutex>
#include <string>
#include <thread>
#include <vector>

#include "pq/pq.hpp"
#include "pq/testing.hpp"

namespace test {

/// The server of this test run, started once by tests/main.cpp.
auto server() -> pq::testing::TempPostgres&;

/// A pq::PQ on a schema of its own, already created.
auto fresh(pq::ConnectionOptions options = {}) -> pq::PQ;

/// Polls `condition` every `poll` until it holds or `timeout` passes; returns whether it held.
template <class Condition>
auto wait_until(Condition condition, std::chrono::milliseconds timeout = std::chrono::seconds(20),
                std::chrono::milliseconds poll = std::chrono::milliseconds(10)) -> bool {
  auto deadline = std::chrono::steady_clock::now() + timeout;
  while (std::chrono::steady_clock::now() < deadline) {
    if (condition()) return true;
    std::this_thread::sleep_for(poll);
  }
  return condition();
}

/// `url` with an application_name, so that tests find the backends of one process in pg_stat_activity.
auto tagged(const std::string& url, const std::string& application) -> std::string;

/// The quoted, schema-qualified name of a PQ's jobs table, for tests that look at rows directly.
auto jobs_table(const pq::PQ& pq) -> std::string;

/// Runs one statement in its own transaction.
void exec(pq::PQ& pq, const std::string& sql);

/// The first value of a one-row query, as text, run in its own transaction.
auto scalar(pq::PQ& pq, const std::string& sql) -> std::string;

/// Moves job `id` by SQL (`assignments` of an UPDATE's SET), as a worker would: for states that no public call
/// reaches yet.
void force_job(pq::PQ& pq, std::int64_t id, const std::string& assignments);
/// Leased to worker-1 for an hour.
inline constexpr const char* kRunning = "state = 'running', attempt = 1, attempted_at = now(), "
                                        "lease_until = now() + interval '1 hour', locked_by = 'worker-1'";
/// Failed its third and last attempt, with the error "boom".
inline constexpr const char* kFailed =
    "state = 'failed', attempt = 3, max_attempts = 3, attempted_at = now(), finished_at = now(), "
    "errors = '[{\"attempt\": 3, \"at\": \"2026-01-01T00:00:00Z\", \"error\": \"boom\"}]'";
inline constexpr const char* kCompleted = "state = 'completed', finished_at = now()";

/// The state of a job that must exist.
auto state_of(pq::PQ& pq, std::int64_t id) -> pq::JobState;

/// `text` as an SQL string literal, for a test's own queries.
auto literal(std::string_view text) -> std::string;

/// Puts a job into `queue` and gets it back: the same job, with the queue's name intact.
void check_round_trip(pq::Queue queue, pq::Wait wait = std::chrono::seconds(0));

}  // namespace test

namespace test {

/// Collects a service's log lines, for tests that assert on them.
class LogCapture {
 public:
  auto sink() -> pq::LogSink {
    return [this](pq::LogLevel, std::string_view line) {
      std::lock_guard lock(mutex_);
      lines_.emplace_back(line);
    };
  }
  auto contains(std::string_view text) const -> bool {
    std::lock_guard lock(mutex_);
    for (const auto& line : lines_) {
      if (line.find(text) != std::string::npos) return true;
    }
    return false;
  }
  auto lines() const -> std::vector<std::string> {
    std::lock_guard lock(mutex_);
    return lines_;
  }

 private:
  mutable std::mutex mutex_;
  std::vector<std::string> lines_;
};

/// Options for a worker that works `queues` until they are empty, logging into `log`.
auto burst(std::vector<std::string> queues, LogCapture& log, int concurrency = 4) -> pq::WorkerOptions;

}  // namespace test
