// Executors: threads that run handlers. Whatever a handler does, the result becomes an Outcome; nothing
// escapes into the worker.
#include <fmt/core.h>

#include <algorithm>
#include <cmath>

#include "common/validate.hpp"
#include "pq/error.hpp"
#include "pq/transaction.hpp"
#include "queue/transaction_access.hpp"
#include "state.hpp"
#include "store/store.hpp"
#include "task/retry_policy.hpp"

namespace pq::worker {
namespace {

auto timeout_message(std::chrono::milliseconds timeout) -> std::string {
  return fmt::format("timed out after {} ms", timeout.count());
}

// A transactional task: lock the job in a transaction, run the handler in it, complete the job in it, commit.
// Returns nullopt when there is nothing left for the completer to write.
auto run_transactional(Shared& shared, RunningJob& running) -> std::optional<Outcome> {
  const auto& job = running.job;
  const auto timeout = running.handler->options.timeout;
  auto tx = shared.pq.begin();
  auto& session = detail::TransactionAccess::session(tx);
  if (timeout > std::chrono::milliseconds::zero()) store::limit_transaction(session, timeout);
  {
    // Not while a heartbeat is on its way: it could be renewing this row and would then wait on our lock.
    std::lock_guard heartbeat(shared.heartbeat_mutex);
    running.in_transaction = true;
  }
  if (!store::lock_running(session, job.id, job.attempt, shared.options.id)) {
    ++shared.counters.lost;
    shared.log(LogLevel::warning, "job {} ({}) lost its lease before it started; skipped", job.id, running.where());
    return std::nullopt;
  }
  Context context(job, &tx, running.stop.get_token());
  running.handler->run(context);
  // Its statements were each bounded by the timeout; the whole run is too.
  if (running.timed_out) throw std::runtime_error(timeout_message(timeout));
  store::Held held;
  held.add(job.id, job.attempt);
  if (store::complete_many(session, held, shared.options.id, shared.pq.options().keep_completed).empty()) {
    throw Error("the job's row changed while it was locked");
  }
  tx.commit();
  ++shared.counters.completed;
  shared.log(LogLevel::debug, "job {} ({}) attempt {} completed in {:.3f} s", job.id, running.where(), job.attempt,
             std::chrono::duration<double>(SteadyClock::now() - running.started).count());
  return std::nullopt;
}

auto execute(Shared& shared, RunningJob& running) -> std::optional<Outcome> {
  const auto& job = running.job;
  if (!running.handler) {
    // Claims name only kinds with a handler; this is a handler that went away since.
    return retry_or_fail(running, fmt::format("no task '{}' in queue '{}' in this worker", job.kind, job.queue));
  }
  if (job.attempt > running.max_attempts()) {
    // Only a rescue after a lost lease can claim a job past its handler's limit.
    return outcome(running, Outcome::Kind::failed,
                   fmt::format("attempt {} is past the task's max_attempts ({})", job.attempt, running.max_attempts()));
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

// The first claimed job that may start: not one whose timed-out run still goes on here.
auto next_startable(Shared& shared) -> std::deque<std::shared_ptr<RunningJob>>::iterator {
  if (shared.abandoned.empty()) return shared.ready.begin();
  return std::find_if(shared.ready.begin(), shared.ready.end(),
                      [&](const auto& job) { return !shared.abandoned.contains(job->job.id); });
}

void executor_loop(const std::shared_ptr<Shared>& shared) {
  std::unique_lock lock(shared->mutex);
  for (;;) {
    shared->work_ready.wait(lock, [&] { return next_startable(*shared) != shared->ready.end() || shared->executors_leave; });
    auto next = next_startable(*shared);
    if (next == shared->ready.end()) return;
    auto running = std::move(*next);
    shared->ready.erase(next);
    running->started = SteadyClock::now();
    running->runner = std::this_thread::get_id();
    shared->running.emplace(running->job.id, running);
    lock.unlock();

    shared->log(LogLevel::debug, "job {} ({}) attempt {}/{} started", running->job.id, running->where(),
                running->job.attempt, running->max_attempts());
    auto result = execute(*shared, *running);

    const double ran = std::chrono::duration<double>(SteadyClock::now() - running->started).count();
    lock.lock();
    if (running->detached) return;  // released at shutdown: this thread was let go
    if (running->abandoned) {
      // Timed out: its outcome was written then. The slot, and the job's next start here, were waiting for this.
      shared->abandoned.erase(running->job.id);
      shared->log(LogLevel::info, "job {} ({}) attempt {}: its timed-out handler returned after {:.3f} s",
                  running->job.id, running->where(), running->job.attempt, ran);
    } else {
      average_into(shared->job_seconds, ran);
      shared->running.erase(running->job.id);
      if (result && result->kind == Outcome::Kind::completed) {
        shared->log(LogLevel::debug, "job {} ({}) attempt {} completed in {:.3f} s", running->job.id,
                    running->where(), running->job.attempt, ran);
      }
      // Its slot is free: when the fetcher is to claim for it now, and no job claimed ahead waits to take the
      // slot, the completion goes in that claim. With jobs waiting, the claim is for the buffer, not for this
      // slot, and the completer writes in parallel with it: a drain at concurrency 4 ran a third slower with
      // its completions on the fetcher's session.
      const bool claim_now = shared->claim_wanted() > 0 && shared->ready.empty();
      if (result && result->kind == Outcome::Kind::completed && claim_now && shared->fetcher_claims &&
          !shared->stopping && !shared->quiet) {
        ++shared->unwritten;
        shared->riders.push_back(std::move(*result));
      } else if (result) {
        shared->push_outcome(std::move(*result));
      }
    }
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

void Shared::unload_riders() {
  if (riders.empty()) return;
  outcomes.insert(outcomes.end(), std::make_move_iterator(riders.begin()), std::make_move_iterator(riders.end()));
  riders.clear();
  outcome_ready.notify_one();
}

void Shared::hand_out(std::vector<Job> jobs, int reserved) {
  counters.claimed += static_cast<std::int64_t>(jobs.size());
  const auto now = SteadyClock::now();
  std::lock_guard lock(mutex);
  scouting -= reserved;
  for (auto& job : jobs) {
    auto running = std::make_shared<RunningJob>();
    running->claimed = now;
    running->handler = pq.registry().find(job.queue, job.kind);
    running->job = std::move(job);
    ready.push_back(std::move(running));
  }
  work_ready.notify_all();
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
  // Handlers' messages are any bytes (a file name, a command's stderr): stored as they are, an invalid one
  // would make the database refuse the whole batch.
  return Outcome{kind, job.job.id, job.job.attempt, job.max_attempts(), job.where(), storable_text(error), {}};
}

auto retry_or_fail(const RunningJob& job, std::string error) -> Outcome {
  if (job.job.attempt >= job.max_attempts()) return outcome(job, Outcome::Kind::failed, std::move(error));
  auto result = outcome(job, Outcome::Kind::retry, std::move(error));
  result.delay = retry_delay(job.job.attempt, job.handler ? job.handler->options : TaskOptions{}, draw_jitter());
  return result;
}

void start_executor(const std::shared_ptr<Shared>& shared) {
  std::thread thread([shared] { executor_loop(shared); });
  auto id = thread.get_id();
  shared->executors.emplace(id, std::move(thread));
}

void abandon(const std::shared_ptr<Shared>& shared, const std::shared_ptr<RunningJob>& job) {
  job->abandoned = true;
  job->timed_out = true;
  job->stop.request_stop();
  shared->running.erase(job->job.id);
  shared->abandoned.emplace(job->job.id, job);
  shared->job_done.notify_all();
}

void detach(const std::shared_ptr<Shared>& shared, RunningJob& job) {
  job.abandoned = job.detached = true;
  job.timed_out = true;  // a transactional run must roll back, as the shutdown says it does
  job.stop.request_stop();
  shared->running.erase(job.job.id);
  shared->abandoned.erase(job.job.id);
  if (auto thread = shared->executors.find(job.runner); thread != shared->executors.end()) {
    thread->second.detach();  // it ends by itself when the handler returns; its result is dropped
    shared->executors.erase(thread);
  }
  shared->job_done.notify_all();
}

}  // namespace pq::worker
