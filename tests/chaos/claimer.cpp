// A claimer process for the double-claim test: 8 threads, each with a connection of its own, take jobs
// through the public API until the queue is empty, and the process writes every (job, attempt) it was given
// to a ledger, one "id attempt path" line each. Even threads take with Queue::get, odd ones run a burst
// pq::Worker of one slot, so both claim statements compete.
//   pq-chaos-claimer URL SCHEMA QUEUE LEDGER
#include <pq/pq.hpp>

#include <fstream>
#include <iostream>
#include <mutex>
#include <string>
#include <thread>
#include <vector>

using namespace std::chrono_literals;

namespace {

constexpr int kThreads = 8;

struct Ledger {
  std::mutex mutex;
  std::vector<std::string> lines;
  bool failed = false;

  void add(std::vector<std::string> mine) {
    std::lock_guard lock(mutex);
    lines.insert(lines.end(), mine.begin(), mine.end());
  }
  void fail(const std::exception& error) {
    std::lock_guard lock(mutex);
    std::cerr << "claimer: " << error.what() << "\n";
    failed = true;
  }
};

auto entry(const pq::Job& job, const char* path) -> std::string {
  return std::to_string(job.id) + " " + std::to_string(job.attempt) + " " + path;
}

void take_with_get(pq::PQ pq, const std::string& queue, Ledger& ledger) {
  std::vector<std::string> mine;
  auto q = pq[queue];
  while (auto job = q.get(0s)) mine.push_back(entry(*job, "get"));
  ledger.add(std::move(mine));
}

void take_with_worker(pq::PQ pq, const std::string& queue, Ledger& ledger) {
  std::mutex mutex;
  std::vector<std::string> mine;
  pq[queue].task("claim", [&](pq::Context& context) {
    std::lock_guard lock(mutex);
    mine.push_back(entry(context.job(), "worker"));
  });
  pq::Worker worker(pq, {.queues = {queue}, .concurrency = 1, .burst = true, .handle_signals = false,
                         .log = pq::stderr_log(pq::LogLevel::warning)});
  worker.run();
  ledger.add(std::move(mine));
}

}  // namespace

auto main(int argc, char** argv) -> int {
  if (argc != 5) {
    std::cerr << "usage: pq-chaos-claimer URL SCHEMA QUEUE LEDGER\n";
    return 2;
  }
  const std::string url = argv[1], schema = argv[2], queue = argv[3], path = argv[4];
  Ledger ledger;
  std::vector<std::thread> threads;
  for (int t = 0; t < kThreads; ++t) {
    threads.emplace_back([&, t] {
      try {
        pq::PQ pq{url, {.schema = schema, .max_connections = 1}};
        (t % 2 == 0 ? take_with_get : take_with_worker)(pq, queue, ledger);
      } catch (const std::exception& error) {
        ledger.fail(error);
      }
    });
  }
  for (auto& thread : threads) thread.join();
  std::ofstream out(path);
  for (const auto& line : ledger.lines) out << line << "\n";
  return out && !ledger.failed ? 0 : 3;
}
