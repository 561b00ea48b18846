// The scout makes the fetcher's claims from the head of the claim index on a session of its own, once they cost
// clearly more than claims from the fetcher's place (lib/worker/places.hpp): a held xmin horizon leaves dead
// index entries at the head that such a claim reads (182 ms each after five minutes of W6), and a fetcher that
// made it itself would claim nothing meanwhile, so every job put during it would wait. The fetcher goes on
// from its place instead, and hears what the scout found at its next round. The scout's claims end at the
// fetcher's place (queue/claim.sql's end): the newest jobs, after it, never wait for such a claim.
//
// The slots a request wants are reserved (Shared::scouting) from the request until its jobs are handed out, so
// the worker never holds more than it claims for. A request that only looks at the head wants one slot, so
// that the fetcher keeps the rest (Places::Start::scout_expects). The thread starts, and its session opens,
// with the first request: a worker whose claims from the head stay cheap has neither.
#pragma once

#include <chrono>
#include <condition_variable>
#include <cstdint>
#include <deque>
#include <memory>
#include <mutex>
#include <optional>
#include <stop_token>
#include <string>
#include <thread>
#include <vector>

#include "pg/session.hpp"
#include "places.hpp"
#include "state.hpp"
#include "store/store.hpp"

namespace pq::worker {

class Scout {
 public:
  struct Request {
    std::string queue;
    int wanted = 0;
    std::optional<store::ClaimKey> after;  // none: at the head
    store::ClaimKey until;                 // the fetcher's place: what comes after it is the fetcher's to claim
    std::vector<std::int64_t> busy;        // jobs not to claim (Fetcher: timed out, still running here)
  };
  struct Report {
    std::string queue;
    Places::Claim claim;
  };

  explicit Scout(std::shared_ptr<Shared> shared) : shared_(std::move(shared)) {}
  ~Scout();
  Scout(const Scout&) = delete;
  auto operator=(const Scout&) -> Scout& = delete;

  /// Reserves `request.wanted` slots and sends the claim.
  void ask(Request request);
  /// The claims made since the last call. Their jobs are handed out right after (Shared::ready), their slots
  /// reserved until then.
  auto reports() -> std::vector<Report>;

 private:
  void run(const std::stop_token& stop);
  auto claim(const Request& request) -> std::vector<Job>;

  std::shared_ptr<Shared> shared_;
  std::mutex mutex_;
  std::condition_variable_any asked_;
  std::deque<Request> requests_;  // the first is being claimed, or waits for the session to come back
  std::vector<Report> reports_;
  std::unique_ptr<pg::Session> session_;  // the scout thread's alone
  std::jthread thread_;                   // last: it stops and joins before the rest goes
};

}  // namespace pq::worker
