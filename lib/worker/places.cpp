#include "places.hpp"

#include <algorithm>

#include "state.hpp"

namespace pq::worker {

auto Places::start(const std::string& queue, Clock::time_point now) -> const store::ClaimKey* {
  auto& place = places_[queue];
  if (!place.after) return nullptr;
  if (now >= place.head_due && !place.probe) return nullptr;
  return &*place.after;
}

auto Places::claimed(const std::string& queue, bool from_head, double took, const std::vector<Job>& jobs,
                     int wanted, Clock::time_point now) -> std::optional<double> {
  auto& place = places_[queue];
  const bool full = std::ssize(jobs) >= wanted;
  std::optional<double> spaced_by;
  if (from_head) {
    average_into(place.head_seconds, took);
    const double extra = place.head_seconds - place.key_seconds;
    // A slow commit now and then is no reason to stay away from the head: only a clear difference is.
    place.spaced = place.key_seconds > 0 && extra > std::max(place.key_seconds, kNoticeable);
    place.head_due = now;
    if (place.spaced) {
      place.head_due +=
          std::chrono::duration_cast<Clock::duration>(std::chrono::duration<double>(extra * kSpacing));
      spaced_by = extra;
    }
    place.probe = !place.spaced;
    place.short_claim = false;
  } else {
    average_into(place.key_seconds, took);
    place.probe = false;
    if (!full) place.short_claim = true;
  }
  if (jobs.empty()) return spaced_by;
  auto last = store::ClaimKey::of(jobs.front());
  for (const auto& job : jobs) last = std::max(last, store::ClaimKey::of(job));
  // A full claim from the head may have stopped before the old place, with more jobs waiting between.
  if (!place.after || *place.after < last || (from_head && full)) place.after = last;
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
    if (place.spaced && place.short_claim && (!due || place.head_due < *due)) due = place.head_due;
  }
  return due;
}

}  // namespace pq::worker
