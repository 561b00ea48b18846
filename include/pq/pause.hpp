// Pauses: durable, fleet-wide stops of the starts of a queue's jobs, or of one kind of them, until resumed or
// until a time. Every statement that starts jobs checks them inside itself (sql/migrations/008_pauses.sql):
// once Queue::pause returns, no claim or get that begins afterwards starts a paused job, whichever worker,
// host or client makes it. Running jobs finish, as do the jobs a worker claimed ahead before the pause (at most
// one claim's worth per worker); puts and promotions go on.
#pragma once

#include <chrono>
#include <cstdint>
#include <optional>
#include <string>

#include "pq/job.hpp"

namespace pq {

/// What Queue::pause pauses, for how long, and why.
struct PauseOptions {
  /// One kind of the queue's jobs; empty: all of them (jobs of the empty kind included).
  std::string kind{};
  /// Ends by itself after this long, by the database's clock; unset: until Queue::resume. Positive.
  std::optional<std::chrono::microseconds> for_{};
  /// Shown by PQ::paused and `pq queues`.
  std::string reason{};
  /// Asks the running jobs in scope to stop, as Admin::cancel asks a running job.
  bool cancel_running = false;
  /// Allows a kind no job of the queue has had yet: otherwise a pq::UsageError, as a misspelt kind would
  /// pause nothing while looking as if it did.
  bool new_kind = false;
};

/// What Queue::pause found when it committed.
struct PauseResult {
  std::int64_t running = 0;           ///< jobs in scope still running: they finish
  std::int64_t cancel_requested = 0;  ///< of those, the ones asked to stop now (PauseOptions::cancel_running)
};

/// A pause in force, as PQ::paused lists it.
struct Pause {
  std::string queue{};
  std::string kind{};  ///< empty: the whole queue
  std::optional<TimePoint> until{};
  std::string reason{};
  std::string paused_by{};  ///< the database role that paused it
  TimePoint created_at{};
};

}  // namespace pq
