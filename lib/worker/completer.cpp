// The completer: writes results in batches (one guarded statement per kind of result), renews the leases of
// running jobs, and gives up on jobs past their task's timeout. It has a session of its own.
#include <fmt/chrono.h>

#include <algorithm>
#include <unordered_map>
#include <unordered_set>

#include "backoff.hpp"
#include "pool.hpp"
#include "pq/error.hpp"
#include "state.hpp"
#include "store.hpp"

namespace pq::worker {
namespace {

auto seconds(std::chrono::microseconds delay) -> double { return static_cast<double>(delay.count()) / 1e6; }

class Completer {
 public:
  explicit Completer(std::shared_ptr<Shared> shared) : shared_(std::move(shared)) {}

  void run() {
    const auto heartbeat_every = shared_->options.lease / 3;
    auto next_heartbeat = SteadyClock::now() + heartbeat_every;
    std::unique_lock lock(shared_->mutex);
    for (;;) {
      shared_->outcome_ready.wait_until(lock, std::min(next_heartbeat, SteadyClock::now() + kTick), [&] {
        return !shared_->outcomes.empty() || shared_->completer_leave;
      });
      std::vector<Outcome> batch(std::make_move_iterator(shared_->outcomes.begin()),
                                 std::make_move_iterator(shared_->outcomes.end()));
      shared_->outcomes.clear();
      const bool leaving = shared_->completer_leave;
      lock.unlock();

      if (!batch.empty()) {
        if (write(batch, leaving)) {
          lock.lock();
          shared_->unwritten -= batch.size();
          lock.unlock();
          shared_->wake_fetcher.notify();  // a written retry may be due at once; a burst may be done
        } else {
          lock.lock();
          shared_->outcomes.insert(shared_->outcomes.begin(), std::make_move_iterator(batch.begin()),
                                   std::make_move_iterator(batch.end()));
          lock.unlock();
        }
      }
      if (SteadyClock::now() >= next_heartbeat) {
        heartbeat();
        next_heartbeat = SteadyClock::now() + heartbeat_every;
      }
      lock.lock();
      enforce_timeouts();
      if (shared_->completer_leave && (shared_->outcomes.empty() || gave_up_)) return;
    }
  }

 private:
  static constexpr auto kTick = std::chrono::milliseconds(100);

  // Returns false when the batch could not be written (the database is away) and should be tried again.
  auto write(const std::vector<Outcome>& batch, bool leaving) -> bool {
    try {
      auto& session = connect();
      store::Held done, retried, failed, released;
      std::vector<std::int64_t> delays;
      std::vector<std::string> retry_errors, fail_errors;
      for (const auto& outcome : batch) {
        switch (outcome.kind) {
          case Outcome::Kind::completed:
            done.add(outcome.id, outcome.attempt);
            break;
          case Outcome::Kind::retry:
            retried.add(outcome.id, outcome.attempt);
            delays.push_back(outcome.delay.count());
            retry_errors.push_back(outcome.error);
            break;
          case Outcome::Kind::failed:
            failed.add(outcome.id, outcome.attempt);
            fail_errors.push_back(outcome.error);
            break;
          case Outcome::Kind::released:
            released.add(outcome.id, outcome.attempt);
            break;
        }
      }
      const auto& worker = shared_->options.id;
      auto completed = store::complete_many(session, done, worker);
      auto rescheduled = store::retry_many(session, retried, delays, retry_errors, worker);
      auto ended = store::fail_many(session, failed, fail_errors, worker);
      auto freed = store::release_many(session, released, worker);
      report(batch, completed, rescheduled, ended, freed);
      backoff_.reset();
      return true;
    } catch (const Error& error) {
      session_.reset();
      shared_->log(LogLevel::warning, "cannot write {} job results: {}; retrying in {} ms", batch.size(),
                   error.what(), backoff_.current().count());
      if (leaving && ++failures_at_exit_ > 3) {
        // The process is going: these jobs stay running with their leases and the rescuer takes them.
        shared_->log(LogLevel::error, "giving up on {} job results at shutdown; the rescuer will retry them",
                     batch.size());
        gave_up_ = true;
        return true;
      }
      std::this_thread::sleep_for(backoff_.next());
      return false;
    }
  }

  void report(const std::vector<Outcome>& batch, const std::vector<std::int64_t>& completed,
              const std::vector<std::int64_t>& rescheduled, const std::vector<std::int64_t>& ended,
              const std::vector<std::int64_t>& freed) {
    // A batch can hold thousands of results: one lookup each, not a scan of the ids written.
    const std::unordered_set<std::int64_t> completed_ids(completed.begin(), completed.end());
    const std::unordered_set<std::int64_t> rescheduled_ids(rescheduled.begin(), rescheduled.end());
    const std::unordered_set<std::int64_t> ended_ids(ended.begin(), ended.end());
    const std::unordered_set<std::int64_t> freed_ids(freed.begin(), freed.end());
    auto& counters = shared_->counters;
    for (const auto& outcome : batch) {
      const auto& ids = outcome.kind == Outcome::Kind::completed ? completed_ids
                        : outcome.kind == Outcome::Kind::retry   ? rescheduled_ids
                        : outcome.kind == Outcome::Kind::failed  ? ended_ids
                                                                 : freed_ids;
      if (!ids.contains(outcome.id)) {
        ++counters.lost;
        shared_->log(LogLevel::warning,
                     "job {} ({}/{}) attempt {}: its lease had passed on (rescued, cancelled or deleted); result "
                     "discarded",
                     outcome.id, outcome.queue, outcome.task, outcome.attempt);
        continue;
      }
      switch (outcome.kind) {
        case Outcome::Kind::completed:
          ++counters.completed;
          break;
        case Outcome::Kind::retry:
          ++counters.retried;
          shared_->log(LogLevel::warning, "job {} ({}/{}) attempt {}/{} failed: {}; retry in {:.3f} s", outcome.id,
                       outcome.queue, outcome.task, outcome.attempt, outcome.max_attempts, outcome.error,
                       seconds(outcome.delay));
          break;
        case Outcome::Kind::failed:
          ++counters.failed;
          shared_->log(LogLevel::error, "job {} ({}/{}) attempt {}/{} failed for good: {}", outcome.id, outcome.queue,
                       outcome.task, outcome.attempt, outcome.max_attempts, outcome.error);
          break;
        case Outcome::Kind::released:
          ++counters.released;
          shared_->log(LogLevel::info, "job {} ({}/{}) released back to its queue", outcome.id, outcome.queue,
                       outcome.task);
          break;
      }
    }
  }

  void heartbeat() {
    store::Held held;
    std::vector<std::shared_ptr<RunningJob>> jobs;
    {
      std::lock_guard lock(shared_->mutex);
      auto hold = [&](const std::shared_ptr<RunningJob>& job) {
        // A transactional job's row is locked by its own transaction; the rescuer skips it while that lives.
        if (job->transactional()) return;
        held.add(job->job.id, job->job.attempt);
        jobs.push_back(job);
      };
      for (const auto& job : shared_->ready) hold(job);
      for (const auto& [id, job] : shared_->running) hold(job);
    }
    if (held.empty()) return;
    try {
      auto beats = store::heartbeat(connect(), held, shared_->options.id,
                                    std::chrono::duration_cast<std::chrono::microseconds>(shared_->options.lease));
      std::unordered_map<std::int64_t, bool> cancel_requested;  // of the jobs still held
      for (const auto& beat : beats) cancel_requested.emplace(beat.id, beat.cancel_requested);
      for (const auto& job : jobs) {
        auto beat = cancel_requested.find(job->job.id);
        if (beat == cancel_requested.end()) {
          if (!job->stop.stop_requested()) {
            shared_->log(LogLevel::warning, "job {} ({}/{}) lost its lease; asking its handler to stop", job->job.id,
                         job->job.queue, job->job.kind);
          }
          job->stop.request_stop();
        } else if (beat->second && !job->stop.stop_requested()) {
          shared_->log(LogLevel::info, "job {} ({}/{}) was cancelled; asking its handler to stop", job->job.id,
                       job->job.queue, job->job.kind);
          job->stop.request_stop();
        }
      }
    } catch (const Error& error) {
      session_.reset();
      shared_->log(LogLevel::warning, "heartbeat failed: {}", error.what());
    }
  }

  // Called with the mutex held.
  void enforce_timeouts() {
    const auto now = SteadyClock::now();
    return_stale(now);
    std::vector<std::shared_ptr<RunningJob>> overdue;
    for (const auto& [id, job] : shared_->running) {
      const auto timeout = job->handler ? job->handler->options.timeout : std::chrono::milliseconds::zero();
      if (timeout > std::chrono::milliseconds::zero() && now - job->started > timeout) overdue.push_back(job);
    }
    for (const auto& job : overdue) {
      const auto timeout = job->handler->options.timeout;
      if (job->transactional()) {
        // Its transaction holds the row: the server's idle timeout ends it, and the handler is asked to stop.
        job->stop.request_stop();
        continue;
      }
      shared_->log(LogLevel::warning, "job {} ({}/{}) timed out after {} ms; abandoned", job->job.id, job->job.queue,
                   job->job.kind, timeout.count());
      abandon(shared_, *job);
      shared_->push_outcome(retry_or_fail(*job, fmt::format("timed out after {} ms", timeout.count())));
    }
  }

  // Jobs claimed ahead that still wait, because slow jobs hold every handler, go back to their queue for other
  // workers; counting their wait as a job's time stops the worker from claiming ahead again soon.
  // Called with the mutex held.
  void return_stale(SteadyClock::time_point now) {
    const auto limit = std::max<std::chrono::milliseconds>(std::chrono::seconds(1), shared_->options.lease / 10);
    auto& ready = shared_->ready;
    for (auto job = ready.begin(); job != ready.end();) {
      const auto waited = now - (*job)->claimed;
      if (waited <= limit) {
        ++job;
        continue;
      }
      shared_->job_seconds = std::max(shared_->job_seconds, std::chrono::duration<double>(waited).count());
      shared_->push_outcome(outcome(**job, Outcome::Kind::released));
      job = ready.erase(job);
    }
  }

  auto connect() -> pg::Session& {
    if (!session_) session_ = shared_->pq.shared()->pool.open();
    return *session_;
  }

  std::shared_ptr<Shared> shared_;
  std::unique_ptr<pg::Session> session_;
  detail::ReconnectBackoff backoff_;
  int failures_at_exit_ = 0;
  bool gave_up_ = false;
};

}  // namespace

void run_completer(const std::shared_ptr<Shared>& shared) { Completer(shared).run(); }

}  // namespace pq::worker
