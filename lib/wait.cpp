#include "wait.hpp"

#include <random>
#include <thread>

#include "pg/statements.hpp"
#include "store.hpp"

namespace pq::detail {

auto deadline_after(Wait wait) -> std::optional<SteadyClock::time_point> {
  constexpr auto kLongest = std::chrono::hours(24 * 365 * 100);
  if (wait >= kLongest) return std::nullopt;
  return SteadyClock::now() + std::max(wait, Wait::zero());
}

auto jittered(std::chrono::milliseconds interval) -> std::chrono::milliseconds {
  thread_local std::minstd_rand random{std::random_device{}()};
  std::uniform_real_distribution<double> factor(0.9, 1.1);
  return std::chrono::milliseconds{static_cast<std::int64_t>(static_cast<double>(interval.count()) * factor(random))};
}

auto wait_for_job(const WaitPlan& plan, pg::Session& work, pg::Session& helper,
                  const std::function<std::optional<Job>(pg::Session&)>& take) -> std::optional<Job> {
  const auto deadline = deadline_after(plan.wait);
  const bool blocking = !deadline || *deadline > SteadyClock::now();
  const auto& channel = helper.statements().channel();
  // Listen before the first try, so a job put between the try and the sleep still wakes us.
  if (blocking && plan.options.listen) helper.listen(channel);
  for (;;) {
    if (auto job = take(work)) return job;
    auto promotion = store::promote_queue(helper, plan.queue);
    if (promotion.promoted > 0) continue;
    auto now = SteadyClock::now();
    if (deadline && now >= *deadline) return std::nullopt;
    auto until = now + jittered(plan.options.poll_interval);
    if (promotion.next_due_in) until = std::min(until, now + *promotion.next_due_in);
    if (deadline) until = std::min(until, *deadline);
    if (!plan.options.listen) {
      std::this_thread::sleep_until(until);
      continue;
    }
    // A notification for another queue of the schema is not ours: keep sleeping until ours or `until`.
    for (bool ours = false; !ours && SteadyClock::now() < until;) {
      auto wake = helper.wait(until);
      if (wake.payloads.empty()) break;
      for (const auto& payload : wake.payloads) ours = ours || payload == plan.queue;
    }
  }
}

}  // namespace pq::detail
