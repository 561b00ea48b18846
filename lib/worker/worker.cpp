// pq::Worker: wires the fetcher, the executors and the completer together, and shuts them down in order.
#include "pq/worker.hpp"

#include <fmt/core.h>

#include <algorithm>
#include <exception>

#include "common/validate.hpp"
#include "pq/error.hpp"
#include "worker/state.hpp"

namespace pq {
namespace worker {
namespace {

auto validated(WorkerOptions options) -> WorkerOptions {
  if (options.concurrency < 1 || options.concurrency > 10000) {
    throw UsageError(fmt::format("concurrency must be between 1 and 10000, got {}", options.concurrency));
  }
  if (options.prefetch < 0 || options.prefetch > 10000) {
    throw UsageError(fmt::format("prefetch must be between 0 and 10000, got {}", options.prefetch));
  }
  if (options.lease < std::chrono::milliseconds(300)) {
    throw UsageError(fmt::format("lease must be at least 300 ms, got {} ms", options.lease.count()));
  }
  if (options.shutdown_grace < std::chrono::milliseconds::zero()) {
    throw UsageError("shutdown_grace cannot be negative");
  }
  if (options.burst_wait < std::chrono::milliseconds::zero() || options.burst_wait > std::chrono::hours(24)) {
    throw UsageError(fmt::format("burst_wait must be between 0 and a day, got {} ms", options.burst_wait.count()));
  }
  for (const auto& queue : options.queues) validate_queue_name(queue);
  if (options.id.empty()) options.id = instance_id();
  return options;
}

}  // namespace

Shared::Shared(PQ database, WorkerOptions settings)
    : pq(std::move(database)), options(validated(std::move(settings))), log(options.log) {
  queues = options.queues.empty() ? pq.registry().queues() : options.queues;
}

}  // namespace worker

struct Worker::State : worker::Shared {
  using worker::Shared::Shared;
};

Worker::Worker(PQ pq, WorkerOptions options) : state_(std::make_shared<State>(std::move(pq), std::move(options))) {}

Worker::~Worker() { stop(); }

void Worker::stop() noexcept {
  state_->stopping.store(true);
  state_->wake_fetcher.notify();
}

auto Worker::id() const -> const std::string& { return state_->options.id; }

auto Worker::stats() const -> WorkerStats {
  const auto& c = state_->counters;
  return {c.claimed.load(),  c.completed.load(), c.retried.load(), c.failed.load(),
          c.released.load(), c.cancelled.load(), c.lost.load()};
}

namespace {

auto plural(std::size_t n, std::string_view one, std::string_view many) -> std::string {
  return fmt::format("{} {}", n, n == 1 ? one : many);
}

// Which kinds each queue claims; no queue without a handler goes unmentioned.
void find_handlers(worker::Shared& shared) {
  std::string unserved;
  for (const auto& queue : shared.queues) {
    auto kinds = shared.pq.registry().kinds(queue);
    if (kinds.empty()) unserved += (unserved.empty() ? "'" : ", '") + queue + "'";
    shared.kinds.insert_or_assign(queue, std::move(kinds));
  }
  if (unserved.empty()) return;
  auto registered = shared.pq.registry().queues();
  std::string known;
  for (const auto& queue : registered) known += (known.empty() ? "'" : ", '") + queue + "'";
  if (std::all_of(shared.queues.begin(), shared.queues.end(),
                  [&](const auto& queue) { return shared.kinds[queue].empty(); })) {
    throw UsageError(fmt::format("no task is registered for queue {}, so the worker has nothing to run (tasks are "
                                 "registered for {})",
                                 unserved, known.empty() ? "no queue" : known));
  }
  shared.log(LogLevel::warning, "no task is registered for queue {}: the worker claims nothing there", unserved);
}

// Each transactional job holds a pooled connection for its whole run.
void check_pool(worker::Shared& shared) {
  const auto pool = shared.pq.options().max_connections;
  if (static_cast<std::size_t>(shared.options.concurrency) <= pool) return;
  for (const auto& queue : shared.queues) {
    for (const auto& kind : shared.kinds[queue]) {
      if (auto handler = shared.pq.registry().find(queue, kind); handler && handler->options.transactional) {
        shared.log(LogLevel::warning,
                   "concurrency {} is more than the pool's {} connections: transactional jobs beyond {} wait for a "
                   "connection (raise ConnectionOptions::max_connections, or pq-worker --max-connections)",
                   shared.options.concurrency, pool, pool);
        return;
      }
    }
  }
}

}  // namespace

void Worker::run() {
  auto shared = std::static_pointer_cast<worker::Shared>(state_);
  if (shared->queues.empty()) {
    throw UsageError("the worker has no queues: register a task on a queue, or name the queues to work");
  }
  find_handlers(*shared);
  check_pool(*shared);
  std::optional<SignalScope> signals;
  if (shared->options.handle_signals) signals.emplace(shared->stopping, shared->wake_fetcher, &shared->stops, &shared->quiet);
  std::string queue_list;
  for (const auto& queue : shared->queues) queue_list += (queue_list.empty() ? "" : ",") + queue;
  shared->log(LogLevel::info, "worker {} started on {}: queues {}, concurrency {}, lease {} ms", shared->options.id,
              shared->pq.describe(), queue_list, shared->options.concurrency, shared->options.lease.count());
  {
    std::lock_guard lock(shared->mutex);
    shared->executors_leave = shared->completer_leave = false;
    for (int i = 0; i < shared->options.concurrency; ++i) worker::start_executor(shared);
  }
  std::thread completer([shared] { worker::run_completer(shared); });

  std::exception_ptr failure;
  try {
    worker::run_fetcher(shared);
  } catch (...) {
    failure = std::current_exception();  // nothing was claimed: shut down as usual, then say why
  }

  // Shut down in order: nothing new is claimed; jobs not started go back at once; running ones get the grace
  // period (cut short by a second stop signal); what is still running then is released; the completer writes
  // everything before it leaves.
  std::unique_lock lock(shared->mutex);
  shared->log(LogLevel::info, "worker {} stopping: {} in hand", shared->options.id,
              plural(shared->in_hand(), "job", "jobs"));
  for (const auto& job : shared->ready) shared->push_outcome(worker::outcome(*job, worker::Outcome::Kind::released));
  shared->ready.clear();
  const auto grace_ends = worker::SteadyClock::now() + shared->options.shutdown_grace;
  while (!shared->running.empty() && shared->stops < 2 && worker::SteadyClock::now() < grace_ends) {
    // In short steps: a signal handler cannot notify a condition variable.
    shared->job_done.wait_until(lock, std::min(grace_ends, worker::SteadyClock::now() + std::chrono::milliseconds(100)));
  }
  std::vector<std::shared_ptr<worker::RunningJob>> overdue;
  for (const auto& [id, job] : shared->running) overdue.push_back(job);
  for (const auto& [id, job] : shared->abandoned) overdue.push_back(job);
  shared->executors_leave = true;
  for (const auto& job : overdue) {
    const bool timed_out = job->abandoned;  // its outcome is written already
    worker::detach(shared, *job);
    if (timed_out) continue;
    if (job->transactional()) {
      shared->log(LogLevel::warning, "job {} ({}) still running in its transaction at shutdown; it rolls back "
                  "and the rescuer retries it", job->job.id, job->where());
    } else {
      shared->push_outcome(worker::outcome(*job, worker::Outcome::Kind::released));
    }
  }
  shared->work_ready.notify_all();
  auto executors = std::move(shared->executors);
  shared->executors.clear();
  lock.unlock();
  for (auto& [id, thread] : executors) thread.join();

  lock.lock();
  shared->completer_leave = true;
  shared->outcome_ready.notify_all();
  lock.unlock();
  completer.join();
  auto stats = this->stats();
  shared->log(LogLevel::info,
              "worker {} stopped: {} claimed, {} completed, {} retried, {} failed, {} cancelled, {} released, {} lost",
              shared->options.id, stats.claimed, stats.completed, stats.retried, stats.failed, stats.cancelled,
              stats.released, stats.lost);
  signals.reset();  // before the flags are cleared, so that no late signal sets them for the next run()
  shared->stopping = false;
  shared->stops = 0;
  shared->quiet = false;
  if (failure) std::rethrow_exception(failure);
}

}  // namespace pq
