// Where the fetcher's claims start, per queue. A claim starts after the last job claimed from that queue, not
// at the head of the claim index: the index entries of the jobs claimed before stay until vacuum removes them,
// and while a session holds the xmin horizon back it cannot, so a claim from the head reads more of them with
// every job claimed (146 ms a claim after five minutes at 2,000 jobs/s; docs/benchmarks.md, W6).
//
// A job can sort before that place. Notifications say when (pg::Notified): new jobs of priority 0 without
// expected_at carry their lowest id, and the place goes back before it (a put committed after jobs with higher
// ids were claimed: concurrent producers, a put in a long transaction); any other jobs (a priority or
// expected_at of their own, promoted, requeued, released) make the next claim start at the head. So do the
// promotions and rescues the fetcher makes itself, a reconnect (for what it could not hear), and a
// pq::Transaction that took jobs and rolled back. What nothing announces (a taker whose session died, another
// worker's claim rolled back) is found by the next claim from the head.
//
// Claims from the head and from the place alternate while they cost the same, as they do while vacuum keeps
// up. Once claims from the head cost clearly more (their running average beyond that of claims from the
// place, by more than that average and kNoticeable), they go to the scout (lib/worker/scout.hpp), which makes
// them on a session of its own while the fetcher goes on from the place, and one is due only after a thousand
// times that extra cost has passed: a thousandth of the claiming time. A claim from the place that finds
// fewer jobs than wanted brings the fetcher back to send the claim from the head as soon as it is due.
#pragma once

#include <chrono>
#include <map>
#include <optional>
#include <string>
#include <vector>

#include "pg/statements.hpp"
#include "pq/job.hpp"
#include "store/store.hpp"

namespace pq::worker {

class Places {
 public:
  using Clock = std::chrono::steady_clock;

  /// What a claim found, as far as places go.
  struct Claim {
    double took = 0;  ///< seconds
    int wanted = 0;
    int got = 0;
    std::optional<store::ClaimKey> last;  ///< the highest key claimed
    static auto of(double took, const std::vector<Job>& jobs, int wanted) -> Claim;
  };
  /// Who made a claim, and from where.
  enum class Origin { place, head, scout };

  /// Where the next claims of a queue start.
  struct Start {
    const store::ClaimKey* after = nullptr;  ///< the fetcher's claim starts after it; nullptr: at the head
    /// A claim from the head is due, and the fetcher sends it to the scout: after `scout_after` (none: at
    /// the head) and up to `after`, where the fetcher's own claims go on. Once sent, no other is until
    /// claimed() hears of it.
    bool scout = false;
    std::optional<store::ClaimKey> scout_after{};
    /// ... and jobs are known to wait there (put back, announced to sort before the place, or the scout's
    /// last claim came back with all it wanted), so the scout's claim is worth slots. Otherwise it only looks,
    /// and as a rule finds nothing while it reads the dead entries at the head.
    bool scout_expects = false;
  };

  auto start(const std::string& queue, Clock::time_point now) -> Start;
  /// After a claim that started where start() said. Returns how much more than claims from the place a
  /// claim from the head costs, when that is what spaces them out.
  auto claimed(const std::string& queue, Origin origin, const Claim& claim, Clock::time_point now)
      -> std::optional<double>;
  /// A notification for `notified.queue`.
  void heed(const pg::Notified& notified);
  /// Jobs back in the queues with their old ids: the next claims start at the head.
  void put_back();
  /// When a claim from the head is due that jobs may be waiting for: a claim from the place found too few,
  /// or the scout's last claim stopped before the place with all it wanted.
  [[nodiscard]] auto head_wanted() const -> std::optional<Clock::time_point>;
  /// Claims from the head that cost `extra` seconds more are this many times `extra` apart.
  static constexpr double kSpacing = 1000;

 private:
  struct Place {
    std::optional<store::ClaimKey> after;  // none: at the head
    Clock::time_point head_due{};
    double head_seconds = 0;  // running averages of claims from the head and from `after`; 0 before the first
    double key_seconds = 0;
    bool spaced = false;       // claims from the head cost clearly more: the scout makes them, head_due spaces them
    bool probe = false;        // the next claim starts at `after` though one from the head is due: it measures
    bool short_claim = false;  // a claim from `after` found fewer jobs than wanted since the last from the head
    bool scouting = false;     // a claim from the head is with the scout
    bool scout_measures = false;  // ... and it started at the head, so its time says what the head costs
    store::ClaimKey scout_until;  // ... and it ends at this place, `after` when it was sent
    bool again = false;           // the head is wanted again once the scout's claim is back
    bool expected = false;        // jobs are known to wait before the place (Start::scout_expects)
    /// The scout's last claim stopped before `after` with every job it wanted: the next goes on from here.
    std::optional<store::ClaimKey> scout_after{};
    /// The next claim starts at the head.
    void to_head() {
      head_due = {};
      probe = false;
      scout_after.reset();
      again = scouting;
      expected = true;
    }
    void measure_head(double took, bool measured, Clock::time_point now, std::optional<double>& spaced_by);
  };

  static constexpr double kNoticeable = 0.001;  // seconds: less extra cost than this spaces nothing

  std::map<std::string, Place, std::less<>> places_;
};

}  // namespace pq::worker
