// The completer: writes results in batches (one guarded statement per kind of result), renews the leases of
// running jobs, and gives up on jobs past their task's timeout. It has a session of its own.
#include <fmt/chrono.h>

#include <algorithm>
#include <array>
#include <iterator>
#include <optional>
#include <span>
#include <unordered_map>
#include <unordered_set>

#include "common/backoff.hpp"
#include "pq/error.hpp"
#include "queue/pool.hpp"
#include "state.hpp"
#include "store/store.hpp"

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
        const auto sent = batch.size();
        auto rest = write(std::move(batch), leaving);
        lock.lock();
        shared_->unwritten -= sent - rest.size();
        shared_->outcomes.insert(shared_->outcomes.begin(), std::make_move_iterator(rest.begin()),
                                 std::make_move_iterator(rest.end()));
        lock.unlock();
        if (rest.size() < sent) shared_->wake_fetcher.notify();  // a written retry may be due at once; a burst may be done
      }
      if (SteadyClock::now() >= next_heartbeat) {
        heartbeat();
        next_heartbeat = SteadyClock::now() + heartbeat_every;
      }
      if (!shared_->options.burst && !leaving) rescue();
      lock.lock();
      enforce_timeouts();
      if (shared_->completer_leave && (shared_->outcomes.empty() || gave_up_)) return;
    }
  }

 private:
  static constexpr auto kTick = std::chrono::milliseconds(100);

  // Writes a batch, one guarded statement per kind of result, and returns the outcomes still to write. A
  // statement the database refuses for a row's data is bisected down to that row, so one bad row never holds
  // up the others; a row refused alone is dropped (its lease lapses and the rescuer retries the job). Any
  // other failure means the database cannot take results now: they are kept and sent again after a backoff.
  auto write(std::vector<Outcome> batch, bool leaving) -> std::vector<Outcome> {
    std::array<std::vector<Outcome>, 4> groups;
    for (auto& outcome : batch) groups.at(static_cast<std::size_t>(outcome.kind)).push_back(std::move(outcome));
    std::vector<Outcome> rest;
    std::optional<std::string> away;
    for (auto& group : groups) write_bisecting(group, 0, group.size(), rest, away);
    if (!away) {
      backoff_.reset();
      return rest;
    }
    shared_->log(LogLevel::warning, "cannot write {} job results: {}; retrying in {} ms", rest.size(), *away,
                 backoff_.current().count());
    if (leaving && ++failures_at_exit_ > 3) {
      // The process is going: these jobs stay running with their leases and the rescuer takes them.
      shared_->log(LogLevel::error, "giving up on {} job results at shutdown; the rescuer will retry them",
                   rest.size());
      gave_up_ = true;
      return {};
    }
    std::this_thread::sleep_for(backoff_.next());
    return rest;
  }

  // What the database refuses because of a row's values: retrying the same row cannot help.
  static auto refused_for_data(const Error& error) -> bool {
    const auto& state = error.sqlstate();
    return state.starts_with("22") || state.starts_with("23") || state == "P0001";
  }

  void write_bisecting(std::vector<Outcome>& group, std::size_t begin, std::size_t end, std::vector<Outcome>& rest,
                       std::optional<std::string>& away) {
    if (begin == end) return;
    if (!away) {
      try {
        write_group(std::span<const Outcome>(group).subspan(begin, end - begin));
        return;
      } catch (const Error& error) {
        if (!refused_for_data(error)) {
          away = error.what();
          session_.reset();
        } else if (end - begin == 1) {
          drop(group[begin], error);
          return;
        }
      }
    }
    if (away) {
      std::move(group.begin() + static_cast<std::ptrdiff_t>(begin), group.begin() + static_cast<std::ptrdiff_t>(end),
                std::back_inserter(rest));
      return;
    }
    const auto middle = begin + (end - begin) / 2;
    write_bisecting(group, begin, middle, rest, away);
    write_bisecting(group, middle, end, rest, away);
  }

  // One statement for outcomes of one kind; throws what the database says.
  void write_group(std::span<const Outcome> group) {
    auto& session = connect();
    const auto& worker = shared_->options.id;
    store::Held held;
    for (const auto& outcome : group) held.add(outcome.id, outcome.attempt);
    std::vector<std::string> errors;
    std::vector<std::int64_t> delays;
    for (const auto& outcome : group) {
      errors.push_back(outcome.error);
      delays.push_back(outcome.delay.count());
    }
    switch (group.front().kind) {
      case Outcome::Kind::completed:
        worker::report(*shared_, group,
                       store::complete_many(session, held, worker, shared_->pq.options().keep_completed), {});
        break;
      case Outcome::Kind::retry: {
        auto retried = store::retry_many(session, held, delays, errors, worker);
        worker::report(*shared_, group, retried.rescheduled, retried.cancelled);
        break;
      }
      case Outcome::Kind::failed:
        worker::report(*shared_, group, store::fail_many(session, held, errors, worker), {});
        break;
      case Outcome::Kind::released:
        worker::report(*shared_, group, store::release_many(session, held, worker), {});
        break;
    }
  }

  void drop(const Outcome& outcome, const Error& error) {
    ++shared_->counters.lost;
    shared_->log(LogLevel::error,
                 "cannot write the result of job {} ({}) attempt {}: {}; dropped: its lease lapses and the rescuer "
                 "retries it",
                 outcome.id, outcome.where, outcome.attempt, error.what());
  }

  void heartbeat() {
    // Held while the statement runs: a transactional job does not lock its row meanwhile (see executor.cpp).
    std::lock_guard beating(shared_->heartbeat_mutex);
    store::Held held;
    std::vector<std::shared_ptr<RunningJob>> jobs;
    {
      std::lock_guard lock(shared_->mutex);
      auto hold = [&](const std::shared_ptr<RunningJob>& job) {
        // Once a transactional job's transaction holds its row, the rescuer skips it while that lives; before,
        // it may be waiting for a connection, and its lease must not lapse.
        if (job->in_transaction) return;
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
      std::unordered_set<std::int64_t> lost;
      for (const auto& job : jobs) {
        auto beat = cancel_requested.find(job->job.id);
        if (beat == cancel_requested.end()) {
          lost.insert(job->job.id);
          if (!job->stop.stop_requested()) {
            shared_->log(LogLevel::warning, "job {} ({}) lost its lease; asking its handler to stop", job->job.id,
                         job->where());
          }
          job->stop.request_stop();
        } else if (beat->second && !job->stop.stop_requested()) {
          shared_->log(LogLevel::info, "job {} ({}): cancel requested; asking its handler to stop", job->job.id,
                       job->where());
          job->stop.request_stop();
        }
      }
      if (!lost.empty()) forget_unstarted(lost);
    } catch (const Error& error) {
      session_.reset();
      shared_->log(LogLevel::warning, "heartbeat failed: {}", error.what());
    }
  }

  void rescue() {
    if (!rescuer_.due(*shared_)) return;
    try {
      if (Rescuer::run(*shared_, connect()) == 0) return;
      shared_->rescued = true;
      shared_->wake_fetcher.notify();
    } catch (const Error& error) {
      session_.reset();
      shared_->log(LogLevel::warning, "rescuing expired leases failed: {}", error.what());
    }
  }

  // Claimed jobs not yet started whose lease passed on (rescued while they waited) must not start here.
  void forget_unstarted(const std::unordered_set<std::int64_t>& lost) {
    std::lock_guard lock(shared_->mutex);
    auto& ready = shared_->ready;
    const auto before = ready.size();
    std::erase_if(ready, [&](const auto& job) { return lost.contains(job->job.id); });
    shared_->counters.lost += static_cast<std::int64_t>(before - ready.size());
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
        // Its statements end at the timeout and it may no longer commit; the handler is asked to stop.
        if (!job->timed_out.exchange(true)) {
          shared_->log(LogLevel::warning, "job {} ({}) timed out after {} ms; asking its handler to stop",
                       job->job.id, job->where(), timeout.count());
        }
        job->stop.request_stop();
        continue;
      }
      shared_->log(LogLevel::warning,
                   "job {} ({}) timed out after {} ms; asking its handler to stop, it keeps its slot until it returns",
                   job->job.id, job->where(), timeout.count());
      abandon(shared_, job);
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
  Rescuer rescuer_;
  int failures_at_exit_ = 0;
  bool gave_up_ = false;
};

}  // namespace

void report(Shared& shared, std::span<const Outcome> group, const std::vector<std::int64_t>& written,
            const std::vector<std::int64_t>& cancelled) {
  // A batch can hold thousands of results: one lookup each, not a scan of the ids written.
  const std::unordered_set<std::int64_t> written_ids(written.begin(), written.end());
  const std::unordered_set<std::int64_t> cancelled_ids(cancelled.begin(), cancelled.end());
  auto& counters = shared.counters;
  for (const auto& outcome : group) {
    if (cancelled_ids.contains(outcome.id)) {
      ++counters.cancelled;
      shared.log(LogLevel::info, "job {} ({}) attempt {} cancelled as requested: {}", outcome.id, outcome.where,
                   outcome.attempt, outcome.error);
      continue;
    }
    if (!written_ids.contains(outcome.id)) {
      ++counters.lost;
      shared.log(LogLevel::warning,
                   "job {} ({}) attempt {}: its lease had passed on (rescued, cancelled or deleted); result "
                   "discarded",
                   outcome.id, outcome.where, outcome.attempt);
      continue;
    }
    switch (outcome.kind) {
      case Outcome::Kind::completed:
        ++counters.completed;
        break;
      case Outcome::Kind::retry:
        ++counters.retried;
        shared.log(LogLevel::warning, "job {} ({}) attempt {}/{} failed: {}; retry in {:.3f} s", outcome.id,
                     outcome.where, outcome.attempt, outcome.max_attempts, outcome.error, seconds(outcome.delay));
        break;
      case Outcome::Kind::failed:
        ++counters.failed;
        shared.log(LogLevel::error, "job {} ({}) attempt {}/{} failed for good: {}", outcome.id, outcome.where,
                     outcome.attempt, outcome.max_attempts, outcome.error);
        break;
      case Outcome::Kind::released:
        ++counters.released;
        shared.log(LogLevel::info, "job {} ({}) released back to its queue", outcome.id, outcome.where);
        break;
    }
  }
}

auto Rescuer::due(const Shared& shared) -> bool {
  const auto now = SteadyClock::now();
  if (!shared.options.rescue || now < next_) return false;
  next_ = now + shared.options.lease / 2;
  return true;
}

auto Rescuer::run(Shared& shared, pg::Session& session) -> std::size_t {
  const auto rescued = store::rescue_expired(session, kBatch, &shared.queues);
  for (const auto& job : rescued) {
    shared.log(LogLevel::warning, "rescued job {} ({}) after its lease expired at attempt {}: now {}", job.id,
               job.queue, job.attempt, to_string(job.state));
  }
  return rescued.size();
}

void run_completer(const std::shared_ptr<Shared>& shared) { Completer(shared).run(); }

}  // namespace pq::worker
