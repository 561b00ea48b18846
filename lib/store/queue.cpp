// The queue's statements, sql/queue/ (see store.hpp).
#include "store/store.hpp"

#include "pg/statements.hpp"
#include "store/job.hpp"

namespace pq::store {
namespace {

// A When as the two parameters the statements take: epoch microseconds, or microseconds from now().
void add_when(pg::Params& params, const std::optional<When>& when) {
  if (when && when->at()) {
    params.add(std::int64_t{when->at()->time_since_epoch().count()}).add_null();
  } else if (when && when->delay()) {
    params.add_null().add(*when->delay());
  } else {
    params.add_null().add_null();
  }
}

auto put_params(std::string_view queue, const PutOptions& options) -> pg::Params {
  pg::Params params;
  params.add(queue).add(options.kind);
  return params;
}

void add_options(pg::Params& params, const PutOptions& options) {
  params.add(options.priority).add(options.max_attempts);
  add_when(params, options.schedule_at);
  add_when(params, options.expected_at);
}


}  // namespace

auto put(pg::Session& session, std::string_view queue, std::string_view data, const PutOptions& options) -> Put {
  auto params = put_params(queue, options);
  params.add(data);
  add_options(params, options);
  auto result = session.run(sql::queue_put, params);
  return {{result.i64(0, 0)}, result.boolean(0, 1)};
}

auto put_many(pg::Session& session, std::string_view queue, std::span<const std::string> data,
              const PutOptions& options) -> Put {
  if (data.empty()) return {};
  auto params = put_params(queue, options);
  params.add(pg::text_array(data));
  add_options(params, options);
  auto result = session.run(sql::queue_put_many, params);
  return {result.column_i64(0), result.boolean(0, 1)};
}

void notify(pg::Session& session, std::span<const std::string> payloads) {
  if (!payloads.empty()) session.run(sql::queue_notify, pg::Params{}.add(pg::text_array(payloads)));
}

// take.sql and claim.sql can find nothing in one race that a second run wins (see take.sql); it runs only
// then, so an empty queue costs two statements and a busy one one.
auto take(pg::Session& session, std::string_view queue, bool keep_completed) -> std::optional<Job> {
  const auto& statement = keep_completed ? sql::queue_take : sql::queue_take_delete;
  pg::Params params;
  params.add(queue);
  if (auto job = decode_job(session.run(statement, params))) return job;
  return decode_job(session.run(statement, params));
}

namespace {

auto claim_params(std::string_view queue, int limit, std::chrono::microseconds lease, std::string_view worker,
                  const std::vector<std::string>* kinds, const std::vector<std::int64_t>* skip) -> pg::Params {
  pg::Params params;
  params.add(queue).add(limit).add(lease).add(worker);
  // NULL, which the statement reads as "any kind" and "skip none".
  params.add(kinds != nullptr ? std::optional{pg::text_array(*kinds)} : std::nullopt);
  params.add(skip != nullptr && !skip->empty() ? std::optional{pg::integer_array(*skip)} : std::nullopt);
  return params;
}

// The four parameters of the place a claim starts after; the lowest place is the head.
void add_key(pg::Params& params, const ClaimKey* after) {
  const auto at = after != nullptr ? after->expected_at : TimePoint::min();
  params.add(after != nullptr ? after->priority : kMinPriority);
  if (at == TimePoint::max() || at == TimePoint::min()) {
    params.add_null().add(at == TimePoint::max() ? "infinity" : "-infinity");
  } else {
    params.add(std::int64_t{std::chrono::duration_cast<std::chrono::microseconds>(at.time_since_epoch()).count()});
    params.add_null();
  }
  params.add(after != nullptr ? after->id : std::int64_t{0});
}

}  // namespace

auto claim(pg::Session& session, std::string_view queue, int limit, std::chrono::microseconds lease,
           std::string_view worker, const std::vector<std::string>* kinds, const std::vector<std::int64_t>* skip,
           const ClaimKey* after, const ClaimKey* until) -> std::vector<Job> {
  auto params = claim_params(queue, limit, lease, worker, kinds, skip);
  add_key(params, after);
  static constexpr ClaimKey kEnd{kMaxPriority, TimePoint::max(), std::numeric_limits<std::int64_t>::max()};
  add_key(params, until != nullptr ? until : &kEnd);
  if (auto jobs = decode_jobs(session.run(sql::queue_claim, params)); !jobs.empty()) return jobs;
  return decode_jobs(session.run(sql::queue_claim, params));
}

auto claim_completing(pg::Session& session, const Held& done, bool keep_completed, std::string_view queue,
                      int limit, std::chrono::microseconds lease, std::string_view worker,
                      const std::vector<std::string>* kinds, const std::vector<std::int64_t>* skip,
                      const ClaimKey* after) -> Claimed {
  if (done.empty()) return {claim(session, queue, limit, lease, worker, kinds, skip, after), {}};
  auto params = claim_params(queue, limit, lease, worker, kinds, skip);
  params.add(pg::integer_array(done.ids)).add(pg::integer_array(done.attempts));
  params.add(keep_completed ? "true" : "false");
  add_key(params, after);
  auto result = session.run(sql::queue_claim_completing, params);
  Claimed claimed{decode_jobs(result), {}};
  const int column = result.column("completed");
  for (int row = 0; row < result.rows(); ++row) {
    if (!result.is_null(row, column)) claimed.completed.push_back(result.i64(row, column));
  }
  // The race that claim() runs its statement again for; the results are written by now.
  if (claimed.jobs.empty()) claimed.jobs = claim(session, queue, limit, lease, worker, kinds, skip, after);
  return claimed;
}

auto promote_queue(pg::Session& session, std::string_view queue) -> Promotion {
  auto result = session.run(sql::queue_promote_queue, pg::Params{}.add(queue));
  Promotion promotion{result.i64(0, 0), std::nullopt};
  if (auto next = result.opt_i64(0, 2)) promotion.next_due_in = std::chrono::microseconds{*next};
  return promotion;
}

auto size(pg::Session& session, std::string_view queue) -> std::int64_t {
  return session.run(sql::queue_size, pg::Params{}.add(queue)).i64(0, 0);
}

auto count(pg::Session& session, std::string_view queue, JobState state) -> std::int64_t {
  return session.run(sql::queue_count, pg::Params{}.add(queue).add(to_string(state))).i64(0, 0);
}

auto clear(pg::Session& session, std::string_view queue) -> std::int64_t {
  return session.run(sql::queue_clear, pg::Params{}.add(queue)).affected_rows();
}

auto update(pg::Session& session, std::string_view queue, std::int64_t id, std::string_view data) -> bool {
  return session.run(sql::queue_update, pg::Params{}.add(id).add(queue).add(data)).rows() == 1;
}

auto job(pg::Session& session, std::int64_t id) -> std::optional<Job> {
  return decode_job(session.run(sql::queue_job, pg::Params{}.add(id)));
}

}  // namespace pq::store
