// pq::Scheduler: one round per interval; only the leader acts.
#include <fmt/core.h>

#include "common/log.hpp"
#include "common/wakeup.hpp"
#include "pq/error.hpp"
#include "pq/scheduler.hpp"

namespace pq {

struct Scheduler::State {
  State(PQ database, SchedulerOptions settings)
      : pq(std::move(database)),
        options(std::move(settings)),
        log(options.log),
        promoter(pq),
        rescuer(pq),
        pruner(pq, options.retention, options.failed_retention),
        leader(pq, options.id, options.leader_ttl) {}

  PQ pq;
  SchedulerOptions options;
  Log log;
  Promoter promoter;
  Rescuer rescuer;
  Pruner pruner;
  Leader leader;
  std::optional<bool> leading;  // unknown until the first round
  std::chrono::steady_clock::time_point next_prune{};
  std::atomic<bool> stopping{false};
  Wakeup wake;
};

namespace {

auto validated(SchedulerOptions options) -> SchedulerOptions {
  if (options.interval < std::chrono::milliseconds(10)) throw UsageError("the scheduler interval must be at least 10 ms");
  if (options.leader_ttl <= options.interval) {
    throw UsageError(fmt::format("leader_ttl ({} ms) must be longer than the interval ({} ms), or leadership "
                                 "lapses between rounds",
                                 options.leader_ttl.count(), options.interval.count()));
  }
  if (options.id.empty()) options.id = instance_id();
  return options;
}

}  // namespace

Scheduler::Scheduler(PQ pq, SchedulerOptions options)
    : state_(std::make_shared<State>(std::move(pq), validated(std::move(options)))) {}

Scheduler::~Scheduler() { stop(); }

void Scheduler::stop() noexcept {
  state_->stopping.store(true);
  state_->wake.notify();
}

auto Scheduler::id() const -> const std::string& { return state_->options.id; }

auto Scheduler::run_once() -> bool {
  auto& s = *state_;
  bool leading = s.leader.try_acquire();
  if (leading != s.leading.value_or(!leading)) {
    s.log(LogLevel::info, "scheduler {} {}", s.options.id,
          leading ? "is the leader" : "stands by: another instance leads");
    s.leading = leading;
  }
  if (!leading) return false;
  for (const auto& job : s.rescuer.run_once()) {
    s.log(LogLevel::warning, "rescued job {} ({}) after its lease expired at attempt {}: now {}", job.id, job.queue,
          job.attempt, to_string(job.state));
  }
  if (auto promoted = s.promoter.run_once(); promoted > 0) {
    s.log(LogLevel::debug, "promoted {} due jobs", promoted);
  }
  if (std::chrono::steady_clock::now() >= s.next_prune) {
    if (auto pruned = s.pruner.run_once(); pruned > 0) s.log(LogLevel::info, "pruned {} finished jobs", pruned);
    s.next_prune = std::chrono::steady_clock::now() + s.options.prune_interval;
  }
  return true;
}

void Scheduler::run() {
  auto& s = *state_;
  std::optional<SignalScope> signals;
  if (s.options.handle_signals) signals.emplace(s.stopping, s.wake);
  using Hours = std::chrono::duration<double, std::ratio<3600>>;
  s.log(LogLevel::info, "scheduler {} started on {}: interval {} ms, retention {:g} h (failed {:g} h)", s.options.id,
        s.pq.describe(), s.options.interval.count(), Hours(s.options.retention).count(),
        Hours(s.options.failed_retention).count());
  while (!s.stopping) {
    try {
      run_once();
    } catch (const Error& error) {
      if (s.leading.value_or(false)) {
        s.log(LogLevel::warning, "scheduler {} lost contact while leading", s.options.id);
      }
      s.leading.reset();
      s.log(LogLevel::warning, "scheduler round failed: {}", error.what());
    }
    s.wake.wait_for(s.options.interval);
    s.wake.drain();
  }
  if (s.leading.value_or(false)) s.leader.resign();
  s.leading.reset();
  s.log(LogLevel::info, "scheduler {} stopped", s.options.id);
  s.stopping = false;
}

}  // namespace pq
