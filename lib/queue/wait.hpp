// The blocking part of a get: try, promote, sleep on LISTEN until woken, the next due job, a poll, or the
// deadline; repeat.
#pragma once

#include <chrono>
#include <functional>
#include <optional>
#include <string>

#include "common/backoff.hpp"
#include "pg/session.hpp"
#include "pq/connection.hpp"
#include "pq/job.hpp"
#include "pq/queue.hpp"

namespace pq::detail {

struct Shared;
using SteadyClock = std::chrono::steady_clock;

/// The deadline of a wait; nullopt for pq::forever (and waits too long to represent).
auto deadline_after(Wait wait) -> std::optional<SteadyClock::time_point>;

struct WaitPlan {
  std::string queue;
  Wait wait;
  const ConnectionOptions& options;
};

/// Calls `take` until it returns a job or the wait runs out: on `work` when given (the caller's
/// transaction), else on a pooled session that also does the waiting. Between tries it promotes the queue's
/// due jobs on a pooled session (autocommit, so other consumers see them) and sleeps on its notifications
/// when LISTEN is on. If that session's connection is lost while it promotes or sleeps, nothing has been
/// taken, so the wait goes on with a new one (reconnecting with backoff until the deadline) and tries at
/// once for what it missed; a connection lost while taking is thrown, since only the caller can tell
/// whether that take committed.
auto wait_for_job(const WaitPlan& plan, Shared& shared, pg::Session* work,
                  const std::function<std::optional<Job>(pg::Session&)>& take) -> std::optional<Job>;

}  // namespace pq::detail
