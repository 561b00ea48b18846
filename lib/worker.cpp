// pq::Worker: wires the fetcher, the executors and the completer together, and shuts them down in order.
#include "pq/worker.hpp"

#include <fmt/core.h>

#include "pq/error.hpp"
#include "validate.hpp"
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
  return {c.claimed.load(), c.completed.load(), c.retried.load(), c.failed.load(), c.released.load(), c.lost.load()};
}

void Worker::run() {
  auto shared = std::static_pointer_cast<worker::Shared>(state_);
  if (shared->queues.empty()) {
    throw UsageError("the worker has no queues: register a task on a queue, or name queues in WorkerOptions");
  }
  std::optional<SignalScope> signals;
  if (shared->options.handle_signals) signals.emplace(shared->stopping, shared->wake_fetcher);
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

  worker::run_fetcher(shared);

  // Shut down in order: nothing new is claimed; jobs not started go back at once; running ones get the grace
  // period; what is still running then is released; the completer writes everything before it leaves.
  std::unique_lock lock(shared->mutex);
  shared->log(LogLevel::info, "worker {} stopping: {} jobs running", shared->options.id, shared->in_hand());
  for (const auto& job : shared->ready) shared->push_outcome(worker::outcome(*job, worker::Outcome::Kind::released));
  shared->ready.clear();
  shared->job_done.wait_for(lock, shared->options.shutdown_grace, [&] { return shared->running.empty(); });
  std::vector<std::shared_ptr<worker::RunningJob>> overdue;
  for (const auto& [id, job] : shared->running) overdue.push_back(job);
  shared->executors_leave = true;
  for (const auto& job : overdue) {
    worker::abandon(shared, *job);
    if (job->transactional()) {
      shared->log(LogLevel::warning, "job {} ({}/{}) still running in its transaction at shutdown; it rolls back "
                  "and the rescuer retries it", job->job.id, job->job.queue, job->job.kind);
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
  shared->log(LogLevel::info, "worker {} stopped: {} claimed, {} completed, {} retried, {} failed, {} released, {} lost",
              shared->options.id, stats.claimed, stats.completed, stats.retried, stats.failed, stats.released,
              stats.lost);
  shared->stopping = false;
}

}  // namespace pq
