// Executors: threads that run handlers. Whatever a handler does, the result becomes an Outcome; nothing
// escapes into the worker.
#include <fmt/core.h>

#include <cmath>

#include "pq/error.hpp"
#include "pq/transaction.hpp"
#include "retry_policy.hpp"
#include "state.hpp"
#include "store.hpp"
#include "transaction_access.hpp"

namespace pq::worker {
namespace {

// A transactional task: lock the job in a transaction, run the handler in it, complete the job in it, commit.
// Returns nullopt when there is nothing left for the completer to write.
auto run_transactional(Shared& shared, RunningJob& running) -> std::optional<Outcome> {
  const auto& job = running.job;
  auto tx = shared.pq.begin();
  auto& session = detail::TransactionAccess::session(tx);
  if (running.handler->options.timeout > std::chrono::milliseconds::zero()) {
    store::limit_transaction(session, running.handler->options.timeout);
  }
  if (!store::lock_running(session, job.id, job.attempt, shared.options.id)) {
    ++shared.counters.lost;
    shared.log(LogLevel::warning, "job {} ({}/{}) lost its lease before it started; skipped", job.id, job.queue,
               job.kind);
    return std::nullopt;
  }
  Context context(job, &tx, running.stop.get_token());
  running.handler->run(context);
  store::Held held;
  held.add(job.id, job.attempt);
  if (store::complete_many(session, held, shared.options.id).empty()) {
    throw Error("the job's row changed while it was locked");
  }
  tx.commit();
  ++shared.counters.completed;
  return std::nullopt;
}

auto execute(Shared& shared, RunningJob& running) -> std::optional<Outcome> {
  const auto& job = running.job;
  if (!running.handler) {
    return outcome(running, Outcome::Kind::failed, fmt::format("unknown task '{}' in queue '{}'", job.kind, job.queue));
  }
  try {
    if (running.transactional()) return run_transactional(shared, running);
    Context context(job, nullptr, running.stop.get_token());
    running.handler->run(context);
    return outcome(running, Outcome::Kind::completed);
  } catch (const DecodeError& error) {
    // Retrying cannot change the job's arguments.
    return outcome(running, Outcome::Kind::failed, error.what());
  } catch (const std::exception& error) {
    return retry_or_fail(running, error.what());
  } catch (...) {
    return retry_or_fail(running, "the handler threw something that is not a std::exception");
  }
}

void executor_loop(const std::shared_ptr<Shared>& shared) {
  std::unique_lock lock(shared->mutex);
  for (;;) {
    shared->work_ready.wait(lock, [&] { return !shared->ready.empty() || shared->executors_leave; });
    if (shared->ready.empty()) return;
    auto running = std::move(shared->ready.front());
    shared->ready.pop_front();
    running->started = SteadyClock::now();
    running->runner = std::this_thread::get_id();
    shared->running.emplace(running->job.id, running);
    lock.unlock();

    auto result = execute(*shared, *running);

    const double ran = std::chrono::duration<double>(SteadyClock::now() - running->started).count();
    lock.lock();
    if (running->abandoned) return;  // timed out or released: a replacement thread already runs
    average_into(shared->job_seconds, ran);
    shared->running.erase(running->job.id);
    if (result) shared->push_outcome(std::move(*result));
    shared->job_done.notify_all();
    // Woken per batch, not per job: it has nothing to do while the buffer of claimed jobs is half full.
    if (shared->claim_wanted() > 0) shared->wake_fetcher.notify();
  }
}

}  // namespace

void Shared::push_outcome(Outcome outcome) {
  ++unwritten;
  outcomes.push_back(std::move(outcome));
  outcome_ready.notify_one();
}

void average_into(double& average, double sample) {
  constexpr double kWeight = 0.1;
  average = average == 0 ? sample : average + kWeight * (sample - average);
}

auto Shared::prefetch_target() const -> int {
  if (options.prefetch == 0 || job_seconds <= 0) return 0;
  // Little's law: to keep `concurrency` handlers busy while a claim is on its way, hold the jobs they finish
  // in that time, twice over so that the next claim goes out before the buffer runs dry.
  const double ahead = 2 * options.concurrency * claim_seconds / job_seconds;
  return static_cast<int>(std::min(std::ceil(ahead), static_cast<double>(options.prefetch)));
}

auto Shared::claim_wanted() const -> int {
  const int target = prefetch_target();
  const int wanted = options.concurrency + target - static_cast<int>(in_hand());
  // Below half the buffer only: claims then come in batches instead of one per finished job.
  if (wanted <= 0 || static_cast<int>(ready.size()) > target / 2) return 0;
  return wanted;
}

auto outcome(const RunningJob& job, Outcome::Kind kind, std::string error) -> Outcome {
  return Outcome{kind, job.job.id, job.job.attempt, job.job.max_attempts, job.job.queue, job.job.kind,
                 std::move(error), {}};
}

auto retry_or_fail(const RunningJob& job, std::string error) -> Outcome {
  if (job.job.attempt >= job.job.max_attempts) return outcome(job, Outcome::Kind::failed, std::move(error));
  auto result = outcome(job, Outcome::Kind::retry, std::move(error));
  result.delay = retry_delay(job.job.attempt, job.handler ? job.handler->options : TaskOptions{}, draw_jitter());
  return result;
}

void start_executor(const std::shared_ptr<Shared>& shared) {
  std::thread thread([shared] { executor_loop(shared); });
  auto id = thread.get_id();
  shared->executors.emplace(id, std::move(thread));
}

void abandon(const std::shared_ptr<Shared>& shared, RunningJob& job) {
  job.abandoned = true;
  job.stop.request_stop();
  shared->running.erase(job.job.id);
  if (auto thread = shared->executors.find(job.runner); thread != shared->executors.end()) {
    thread->second.detach();  // it ends by itself when the handler returns; its result is dropped
    shared->executors.erase(thread);
  }
  if (!shared->executors_leave) start_executor(shared);
  shared->job_done.notify_all();
  shared->wake_fetcher.notify();
}

}  // namespace pq::worker
