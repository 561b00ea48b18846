// The maintenance services. Each is one statement run on a pooled session; Scheduler decides when.
#include <fmt/core.h>

#include "pq/error.hpp"
#include "pq/scheduler.hpp"
#include "queue/pool.hpp"
#include "store/store.hpp"

namespace pq {
namespace {

void require_positive(int batch, const char* service) {
  if (batch < 1) throw UsageError(fmt::format("{} batch must be at least 1, got {}", service, batch));
}

}  // namespace

Promoter::Promoter(PQ pq, int batch) : pq_(std::move(pq)), batch_(batch) { require_positive(batch, "promoter"); }

auto Promoter::run_once() -> std::int64_t {
  return detail::with_session(*pq_.shared(), [&](pg::Session& session) {
    std::int64_t total = 0;
    for (const auto& promoted : store::promote_due(session, batch_)) total += promoted.count;
    return total;
  });
}

Rescuer::Rescuer(PQ pq, int batch) : pq_(std::move(pq)), batch_(batch) { require_positive(batch, "rescuer"); }

auto Rescuer::run_once() -> std::vector<RescuedJob> {
  return detail::with_session(*pq_.shared(), [&](pg::Session& session) {
    std::vector<RescuedJob> out;
    for (auto& rescued : store::rescue_expired(session, batch_)) {
      out.push_back({rescued.id, std::move(rescued.queue), rescued.state, rescued.attempt});
    }
    return out;
  });
}

Pruner::Pruner(PQ pq, std::chrono::microseconds retention, std::chrono::microseconds failed_retention, int batch)
    : pq_(std::move(pq)), retention_(retention), failed_retention_(failed_retention), batch_(batch) {
  require_positive(batch, "pruner");
  if (retention < std::chrono::microseconds::zero() || failed_retention < std::chrono::microseconds::zero()) {
    throw UsageError("retention cannot be negative");
  }
}

auto Pruner::run_once() -> std::int64_t {
  return detail::with_session(*pq_.shared(), [&](pg::Session& session) {
    return store::prune_finished(session, retention_, failed_retention_, batch_);
  });
}

Leader::Leader(PQ pq, std::string id, std::chrono::milliseconds ttl)
    : pq_(std::move(pq)), id_(std::move(id)), ttl_(ttl) {
  if (ttl < std::chrono::milliseconds(100)) throw UsageError("the leader lease must be at least 100 ms");
}

auto Leader::try_acquire() -> bool {
  return detail::with_session(*pq_.shared(), [&](pg::Session& session) {
    return store::leader_elect(session, id_, std::chrono::duration_cast<std::chrono::microseconds>(ttl_));
  });
}

void Leader::resign() noexcept {
  try {
    detail::with_session(*pq_.shared(), [&](pg::Session& session) { store::leader_resign(session, id_); });
  } catch (const Error&) {  // the lease expires by itself
  }
}

}  // namespace pq
