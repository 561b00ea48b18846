#include "places.hpp"

#include <algorithm>

#include "state.hpp"

namespace pq::worker {

auto Places::Claim::of(double took, const std::vector<Job>& jobs, int wanted) -> Claim {
  Claim claim{took, wanted, static_cast<int>(jobs.size()), std::nullopt};
  for (const auto& job : jobs) {
    const auto key = store::ClaimKey::of(job);
    if (!claim.last || *claim.last < key) claim.last = key;
  }
  return claim;
}

auto Places::start(const std::string& queue, Clock::time_point now) -> Start {
  auto& place = places_[queue];
  if (!place.after) return {};
  if (now < place.head_due || place.probe || place.scouting) return {&*place.after};
  if (!place.spaced) return {};
  place.scouting = true;
  place.scout_measures = !place.scout_after;
  place.scout_until = *place.after;
  return {&*place.after, true, place.scout_after, place.expected};
}

// A claim from the head (or the scout's going on from where its last one stopped, which says nothing of what
// the head costs: `measured` false) was made; the next is due now, or, once they cost clearly more than claims
// from the place, spaced out.
void Places::Place::measure_head(double took, bool measured, Clock::time_point now,
                                 std::optional<double>& spaced_by) {
  if (measured) average_into(head_seconds, took);
  const double extra = head_seconds - key_seconds;
  // A slow commit now and then is no reason to stay away from the head: only a clear difference is.
  if (measured) spaced = key_seconds > 0 && extra > std::max(key_seconds, kNoticeable);
  head_due = now;
  if (spaced) {
    head_due += std::chrono::duration_cast<Clock::duration>(std::chrono::duration<double>(extra * kSpacing));
    spaced_by = extra;
  }
  probe = !spaced;
  short_claim = false;
}

auto Places::claimed(const std::string& queue, Origin origin, const Claim& claim, Clock::time_point now)
    -> std::optional<double> {
  auto& place = places_[queue];
  const bool full = claim.got >= claim.wanted;
  std::optional<double> spaced_by;
  if (origin == Origin::place) {
    average_into(place.key_seconds, claim.took);
    place.probe = false;
    if (!full) place.short_claim = true;
  } else {
    place.measure_head(claim.took, origin == Origin::head || place.scout_measures, now, spaced_by);
  }
  if (origin == Origin::scout) {
    place.scouting = false;
    place.scout_after.reset();
    place.expected = false;
  }
  if (claim.last) {
    const bool before = place.after && *claim.last < *place.after;
    if (origin == Origin::scout) {
      // It stopped, with every job it wanted, before the place it was to end at: more may wait between, and
      // the next claim of the scout goes on from where this one stopped, at once. The fetcher's place stays
      // where it is, so it never reads what lies between.
      if (full && *claim.last < place.scout_until) {
        place.scout_after = claim.last;
        place.head_due = {};
        place.expected = true;
      }
    } else if (!before || (origin == Origin::head && full)) {
      // A full claim from the head may have stopped before the old place, with more jobs waiting between.
      place.after = claim.last;
    }
  }
  if (origin == Origin::scout && place.again) {
    // A notification while the scout was out: what it announced may have come after the scout's snapshot.
    place.again = false;
    place.to_head();
  }
  return spaced_by;
}

void Places::heed(const pg::Notified& notified) {
  auto found = places_.find(notified.queue);
  if (found == places_.end() || !found->second.after) return;
  auto& place = found->second;
  auto& after = *place.after;
  // New jobs of priority 0 without expected_at sort after every place of a lower priority or of priority 0
  // with an expected_at; after a place of priority 0 without one only where their ids are higher.
  if (!notified.before && after.priority <= 0) {
    const bool none = after.expected_at == TimePoint::max();
    if (after.priority == 0 && none && notified.first_id <= after.id) after.id = notified.first_id - 1;
    return;
  }
  place.to_head();
}

void Places::put_back() {
  for (auto& [queue, place] : places_) place.to_head();
}

auto Places::head_wanted() const -> std::optional<Clock::time_point> {
  std::optional<Clock::time_point> due;
  for (const auto& [queue, place] : places_) {
    const bool waiting = place.short_claim || place.scout_after;
    if (place.spaced && !place.scouting && waiting && (!due || place.head_due < *due)) due = place.head_due;
  }
  return due;
}

}  // namespace pq::worker
