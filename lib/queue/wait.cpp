#include "queue/wait.hpp"

#include <thread>

#include "pg/statements.hpp"
#include "queue/pool.hpp"
#include "store/store.hpp"

namespace pq::detail {
namespace {

// Promotes the queue's due jobs on `helper`, then sleeps until a notification for the queue, the next due
// job, a poll or the deadline. False once the deadline has passed.
auto rest(const WaitPlan& plan, std::optional<SteadyClock::time_point> deadline, pg::Session& helper) -> bool {
  auto promotion = store::promote_queue(helper, plan.queue);
  if (promotion.promoted > 0) return true;
  auto now = SteadyClock::now();
  if (deadline && now >= *deadline) return false;
  auto until = now + jittered(plan.options.poll_interval);
  if (promotion.next_due_in) until = std::min(until, now + *promotion.next_due_in);
  if (deadline) until = std::min(until, *deadline);
  if (!plan.options.listen) {
    std::this_thread::sleep_until(until);
    return true;
  }
  // A notification for another queue of the schema is not ours: keep sleeping until ours or `until`.
  for (bool ours = false; !ours && SteadyClock::now() < until;) {
    auto wake = helper.wait(until);
    if (wake.payloads.empty()) break;
    for (const auto& payload : wake.payloads) ours = ours || pg::parse_payload(payload).queue == plan.queue;
  }
  return true;
}

}  // namespace

auto deadline_after(Wait wait) -> std::optional<SteadyClock::time_point> {
  constexpr auto kLongest = std::chrono::hours(24 * 365 * 100);
  if (wait >= kLongest) return std::nullopt;
  return SteadyClock::now() + std::max(wait, Wait::zero());
}

auto wait_for_job(const WaitPlan& plan, Shared& shared, pg::Session* work,
                  const std::function<std::optional<Job>(pg::Session&)>& take) -> std::optional<Job> {
  const auto deadline = deadline_after(plan.wait);
  ReconnectBackoff backoff;
  for (;;) {
    bool taking = false;
    try {
      const bool blocking = !deadline || *deadline > SteadyClock::now();
      // A transaction that does not wait promotes on its own session: no second connection for a quick try.
      std::optional<Pool::Lease> lease;
      if (work == nullptr || blocking) lease.emplace(shared.pool.acquire());
      pg::Session& helper = lease ? **lease : *work;
      pg::Session& on = work != nullptr ? *work : helper;
      // Listen before the first try, so a job put between the try and the sleep still wakes us.
      if (blocking && plan.options.listen) helper.listen(helper.statements().channel());
      backoff.reset();
      for (;;) {
        taking = true;
        if (auto job = take(on)) return job;
        taking = false;
        if (!rest(plan, deadline, helper)) return std::nullopt;
      }
    } catch (const Error& error) {
      if (!error.connection_lost()) throw;
      shared.pool.discard_idle();  // the same restart has most likely closed them too
      if (taking || (deadline && SteadyClock::now() >= *deadline)) throw;
    }
    auto pause = backoff.next();
    if (deadline) pause = std::min(pause, std::chrono::ceil<std::chrono::milliseconds>(*deadline - SteadyClock::now()));
    std::this_thread::sleep_for(pause);
  }
}

}  // namespace pq::detail
