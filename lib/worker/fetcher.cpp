// The fetcher: LISTENs on its own session and claims as many jobs as the worker has free slots, one queue
// after another, in one statement per queue. When its queues run dry it promotes their due jobs and sleeps
// until a notification, a free slot, the next due job or the poll interval.
// Each claim starts where Places says (lib/worker/places.hpp); claims from the head that cost too much to wait for
// go to the scout (lib/worker/scout.hpp).
#include <algorithm>
#include <array>
#include <iterator>
#include <string_view>
#include <unordered_set>

#include "pg/statements.hpp"
#include "places.hpp"
#include "scout.hpp"
#include "pq/error.hpp"
#include "queue/pool.hpp"
#include "queue/wait.hpp"
#include "state.hpp"
#include "store/admin.hpp"
#include "store/store.hpp"

namespace pq::worker {
namespace {

class Fetcher {
 public:
  explicit Fetcher(std::shared_ptr<Shared> shared) : shared_(std::move(shared)) {}

  void run() {
    detail::ReconnectBackoff backoff;
    bool claim_now = true;
    while (!shared_->stopping) {
      try {
        if (!session_) {
          connect();
          started_ = true;
          claim_now = true;  // catch up on whatever was put while we were not listening
          places_.put_back();  // including what sorts before the places, announced while nobody heard
          backoff.reset();
        }
        if (shared_->quiet) {
          go_quiet();
          continue;
        }
        std::optional<std::chrono::microseconds> next_due;
        if (claim_now) {
          claim_now = false;
          // Asked before looking: a result written during this round (a retry due at once) is committed by
          // then, so the claim or the promotion sees it; asked after, it could be missed and the burst end
          // with the retry never run.
          const bool done_before = shared_->options.burst && settled();
          wrote_ = false;
          auto round = claim_round();
          if (round.full) {
            // Every slot held by timed-out handlers that have not returned: a burst does not wait for them.
            if (done_before && round.claimed == 0) return;
            claim_now = true;  // there may be more: claim again as soon as a slot frees
          } else if (round.claimed == 0) {
            const bool rescued = shared_->options.burst
                                     ? rescuer_.due(*shared_) && Rescuer::run(*shared_, *session_) > 0
                                     : shared_->rescued.exchange(false);
            if (rescued || wrote_) claim_now = true;
            auto promoted = promote(next_due);
            // Jobs back in the queue keep their ids, so they sort before where the claims went on.
            if (rescued || promoted > 0) places_.put_back();
            if (promoted > 0 || claim_now) {
              claim_now = true;
              continue;
            }
            const auto wait = std::chrono::duration_cast<std::chrono::microseconds>(shared_->options.burst_wait);
            if (done_before && !(next_due && *next_due <= wait)) return;
          }
        }
        claim_now = sleep(next_due) || claim_now;
      } catch (const Error& error) {
        hand_back_riders();
        session_.reset();
        // Before a first good connection, what cannot heal by waiting ends the worker: a wrong password, a
        // missing database, no schema; and in burst mode anything, since nobody waits for a burst to recover.
        if (!started_ && (shared_->options.burst || refused(error))) throw;
        shared_->log(LogLevel::warning, "fetcher: {}; reconnecting in {} ms", error.what(),
                     backoff.current().count());
        shared_->wake_fetcher.wait_for(backoff.next());
        shared_->wake_fetcher.drain();
      }
    }
  }

 private:
  struct Round {
    std::size_t claimed = 0;
    bool full = false;  // every free slot was filled
  };

  // The server answered and said no for a reason that waiting does not change. libpq keeps no SQLSTATE for a
  // failed connection, so this reads the server's (English) message; anything else counts as an outage.
  static auto refused(const Error& error) -> bool {
    if (error.sqlstate() == kSchemaMissing) return true;
    static constexpr std::array<std::string_view, 6> kRefusals{
        "authentication failed", "no pg_hba.conf entry", "does not exist", "no password supplied",
        "is not permitted to log in", "permission denied for database"};
    const std::string_view message = error.what();
    return std::any_of(kRefusals.begin(), kRefusals.end(),
                       [&](std::string_view refusal) { return message.find(refusal) != std::string_view::npos; });
  }

  void connect() {
    session_ = shared_->pq.shared()->pool.open();
    if (store::schema_installed(*session_) ? store::schema_version(*session_) < PQ::latest_schema_version() : true) {
      throw Error(fmt::format("schema \"{}\" is not installed or outdated: call pq::PQ::create() or run `pq migrate`",
                              shared_->pq.options().schema),
                  std::string(kSchemaMissing));
    }
    if (shared_->pq.options().listen) session_->listen(session_->statements().channel());
  }

  auto claim_wanted() -> int {
    std::lock_guard lock(shared_->mutex);
    return shared_->claim_wanted();
  }

  auto settled() -> bool {
    std::lock_guard lock(shared_->mutex);
    return shared_->settled();
  }

  auto claim_round() -> Round {
    for (const auto& report : scout_.reports()) {
      const auto spaced = places_.claimed(report.queue, Places::Origin::scout, report.claim, SteadyClock::now());
      if (spaced && *spaced >= kSlowHead) warn_slow_head(report.queue, *spaced);
    }
    const int free = claim_wanted();
    if (free <= 0) return {0, true};
    int wanted = free;
    const auto lease = std::chrono::duration_cast<std::chrono::microseconds>(shared_->options.lease);
    const auto& queues = shared_->queues;
    std::vector<std::int64_t> busy;  // timed out, their handlers still running here
    {
      std::lock_guard lock(shared_->mutex);
      for (const auto& [id, job] : shared_->abandoned) busy.push_back(id);
    }
    // Start with a different queue each round, so that a busy queue cannot starve the others.
    for (std::size_t i = 0; i < queues.size() && wanted > 0; ++i) {
      const auto& queue = queues[(start_ + i) % queues.size()];
      const auto sent = SteadyClock::now();
      const auto& kinds = shared_->kinds.find(queue)->second;
      if (kinds.empty()) continue;
      const auto start = places_.start(queue, sent);
      if (start.scout) {
        // Its claim holds the slots it wants for as long as it reads the dead entries at the head, hundreds of
        // milliseconds under a held horizon, so a claim that only looks takes one, and the fetcher's own
        // claims keep up meanwhile; one for jobs known to wait there takes half. With one slot, the scout's
        // claim is the only one.
        const int scouted = start.scout_expects ? (wanted + 1) / 2 : 1;
        scout_.ask({queue, scouted, start.scout_after, *start.after, busy});
        wanted -= scouted;
        if (wanted == 0) continue;
      }
      auto jobs = claim(queue, wanted, lease, kinds, busy, start.after);
      const auto now = SteadyClock::now();
      const double took = std::chrono::duration<double>(now - sent).count();
      {
        std::lock_guard lock(shared_->mutex);
        average_into(shared_->claim_seconds, took);
      }
      const auto origin = start.after == nullptr ? Places::Origin::head : Places::Origin::place;
      const auto spaced = places_.claimed(queue, origin, Places::Claim::of(took, jobs, wanted), now);
      if (spaced && *spaced >= kSlowHead) warn_slow_head(queue, *spaced);
      if (jobs.empty()) continue;
      wanted -= static_cast<int>(jobs.size());
      shared_->hand_out(std::move(jobs));
    }
    start_ = (start_ + 1) % queues.size();
    return {static_cast<std::size_t>(free - wanted), wanted == 0};
  }

  // At most every kWarningEvery: what slows the claims down, and who holds the horizon back.
  void warn_slow_head(const std::string& queue, double extra) {
    const auto now = SteadyClock::now();
    if (now < next_warning_) return;
    next_warning_ = now + kWarningEvery;
    const auto holder = store::admin::horizon_holder(*session_);
    shared_->log(LogLevel::warning,
                 "claims of queue {} from the head take {:.0f} ms more than from the last claimed job: vacuum "
                 "cannot remove the dead index entries they read while the xmin horizon is held back, most by {}; "
                 "claims go on from the last claimed job, and from the head on a session of their own every {:.0f} s",
                 queue, extra * 1e3, holder.value_or("nothing this role can see"), extra * Places::kSpacing);
  }

  // One claim, carrying the completions that wait for it (Shared::riders). If the statement fails they go
  // to the completer, which writes them on its own (and finds any row the database refuses).
  auto claim(const std::string& queue, int wanted, std::chrono::microseconds lease,
             const std::vector<std::string>& kinds, const std::vector<std::int64_t>& busy,
             const store::ClaimKey* after) -> std::vector<Job> {
    std::vector<Outcome> riders;
    {
      std::lock_guard lock(shared_->mutex);
      riders.swap(shared_->riders);
    }
    if (riders.empty()) {
      return store::claim(*session_, queue, wanted, lease, shared_->options.id, &kinds, &busy, after);
    }
    store::Held done;
    for (const auto& rider : riders) done.add(rider.id, rider.attempt);
    try {
      auto claimed = store::claim_completing(*session_, done, shared_->pq.options().keep_completed, queue, wanted,
                                             lease, shared_->options.id, &kinds, &busy, after);
      // What the statement skipped (a row another session has locked, or a lease that passed on) the
      // completer writes, and tells the one from the other.
      const std::unordered_set<std::int64_t> completed(claimed.completed.begin(), claimed.completed.end());
      const auto skipped = std::stable_partition(riders.begin(), riders.end(),
                                                 [&](const Outcome& rider) { return completed.contains(rider.id); });
      report(*shared_, std::span<const Outcome>(riders.begin(), skipped), claimed.completed, {});
      std::lock_guard lock(shared_->mutex);
      shared_->unwritten -= static_cast<std::size_t>(skipped - riders.begin());
      riders.erase(riders.begin(), skipped);
      give_to_completer(riders);
      wrote_ = true;
      return std::move(claimed.jobs);
    } catch (...) {
      std::lock_guard lock(shared_->mutex);
      give_to_completer(riders);
      throw;
    }
  }

  // Riders taken for a claim that did not write them (call with `mutex` held); they stay counted unwritten.
  void give_to_completer(std::vector<Outcome>& riders) {
    auto& waiting = shared_->riders;
    waiting.insert(waiting.end(), std::make_move_iterator(riders.begin()), std::make_move_iterator(riders.end()));
    shared_->unload_riders();
  }

  // Before the fetcher waits for anything, so that no result waits for it.
  void hand_back_riders() {
    std::lock_guard lock(shared_->mutex);
    shared_->unload_riders();
  }

  // Quiet (SIGTSTP): jobs claimed ahead go back, running ones finish, nothing more is claimed until a stop.
  void go_quiet() {
    {
      std::lock_guard lock(shared_->mutex);
      shared_->unload_riders();
      for (const auto& job : shared_->ready) shared_->push_outcome(outcome(*job, Outcome::Kind::released));
      shared_->ready.clear();
    }
    if (!quiet_logged_) {
      quiet_logged_ = true;
      shared_->log(LogLevel::info, "worker {} is quiet: it claims no more jobs; running ones finish; SIGTERM stops it",
                   shared_->options.id);
    }
    shared_->wake_fetcher.wait_for(std::chrono::seconds(1));
    shared_->wake_fetcher.drain();
  }

  auto promote(std::optional<std::chrono::microseconds>& next_due) -> std::int64_t {
    std::int64_t promoted = 0;
    for (const auto& queue : shared_->queues) {
      auto promotion = store::promote_queue(*session_, queue);
      promoted += promotion.promoted;
      if (promotion.next_due_in && (!next_due || *promotion.next_due_in < *next_due)) {
        next_due = promotion.next_due_in;
      }
    }
    return promoted;
  }

  // Returns whether to claim when it wakes: a notification for one of our queues, a freed slot, the poll.
  auto sleep(std::optional<std::chrono::microseconds> next_due) -> bool {
    bool slots_free = false;
    {
      // A job that finished since the claim left its completion for the next one: claim at once.
      std::lock_guard lock(shared_->mutex);
      slots_free = shared_->claim_wanted() > 0;
      if (!shared_->riders.empty() && slots_free) return true;
      shared_->unload_riders();
    }
    auto until = detail::SteadyClock::now() + detail::jittered(shared_->pq.options().poll_interval);
    bool due = false;
    if (next_due && detail::SteadyClock::now() + *next_due < until) {
      until = detail::SteadyClock::now() + *next_due;
      due = true;
    }
    // Only with a slot to claim for: else the claim would not happen, and the wait would end again at once.
    if (auto head = places_.head_wanted(); head && slots_free) until = std::min(until, *head);
    auto wake = session_->wait(until, shared_->wake_fetcher.fd());
    if (wake.woken) {
      shared_->wake_fetcher.drain();
      return true;
    }
    if (wake.payloads.empty()) {
      // The poll interval, or the next due job or end of a timed pause: nothing announces the jobs of a kind
      // whose pause ended, and the claims since went on past them.
      if (due) places_.put_back();
      return true;
    }
    bool ours = false;
    for (const auto& payload : wake.payloads) {
      const auto notified = pg::parse_payload(payload);
      const auto& queues = shared_->queues;
      if (std::find(queues.begin(), queues.end(), notified.queue) == queues.end()) continue;
      ours = true;
      places_.heed(notified);
    }
    return ours;
  }

  static constexpr std::string_view kSchemaMissing = "3F000";
  static constexpr double kSlowHead = 0.05;  // seconds a claim from the head costs extra before a warning
  static constexpr auto kWarningEvery = std::chrono::minutes(10);

  std::shared_ptr<Shared> shared_;
  std::unique_ptr<pg::Session> session_;
  std::size_t start_ = 0;
  bool started_ = false;
  bool quiet_logged_ = false;
  bool wrote_ = false;  // the last claim round wrote results: a burst looks once more before it ends
  Rescuer rescuer_;  // a burst's: else the completer rescues
  SteadyClock::time_point next_warning_{};
  Places places_;
  Scout scout_{shared_};  // last: its thread, which hands jobs to `shared_`, is joined first
};

}  // namespace

void run_fetcher(const std::shared_ptr<Shared>& shared) {
  // However the fetcher ends, the completions waiting for its next claim go to the completer.
  struct Claiming {
    Shared& shared;
    explicit Claiming(Shared& state) : shared(state) {
      std::lock_guard lock(shared.mutex);
      shared.fetcher_claims = true;
    }
    ~Claiming() {
      std::lock_guard lock(shared.mutex);
      shared.fetcher_claims = false;
      shared.unload_riders();
    }
    Claiming(const Claiming&) = delete;
    auto operator=(const Claiming&) -> Claiming& = delete;
  } claiming(*shared);
  Fetcher(shared).run();
}

}  // namespace pq::worker
