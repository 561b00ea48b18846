// The blocking part of a get: try, promote, sleep on LISTEN until woken, the next due job, a poll, or the
// deadline; repeat.
#pragma once

#include <chrono>
#include <functional>
#include <optional>
#include <string>

#include "pg/session.hpp"
#include "pq/connection.hpp"
#include "pq/job.hpp"
#include "pq/queue.hpp"

namespace pq::detail {

using SteadyClock = std::chrono::steady_clock;

/// The deadline of a wait; nullopt for pq::forever (and waits too long to represent).
auto deadline_after(Wait wait) -> std::optional<SteadyClock::time_point>;
/// `interval` with ±10% jitter, so that many pollers do not wake in step.
auto jittered(std::chrono::milliseconds interval) -> std::chrono::milliseconds;

struct WaitPlan {
  std::string queue;
  Wait wait;
  const ConnectionOptions& options;
};

/// Calls `take(work)` until it returns a job or the wait runs out. Between tries it promotes the queue's
/// due jobs on `helper` (autocommit, so other consumers see them) and sleeps on `helper`'s notifications
/// when LISTEN is on.
auto wait_for_job(const WaitPlan& plan, pg::Session& work, pg::Session& helper,
                  const std::function<std::optional<Job>(pg::Session&)>& take) -> std::optional<Job>;

}  // namespace pq::detail
