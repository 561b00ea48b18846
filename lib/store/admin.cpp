#include "store/admin.hpp"

#include "pg/statements.hpp"
#include "store/job.hpp"

namespace pq::store::admin {
namespace {

auto state_param(const std::optional<JobState>& state) -> std::optional<std::string_view> {
  if (!state) return std::nullopt;
  return to_string(*state);
}

auto purge_params(const PurgeFilter& filter) -> pg::Params {
  pg::Params params;
  params.add(filter.queue).add(state_param(filter.state)).add(filter.older_than);
  return params;
}

}  // namespace

auto stats(pg::Session& session, std::chrono::microseconds finished_within) -> std::vector<QueueStats> {
  auto result = session.run(sql::admin_stats, pg::Params{}.add(finished_within));
  const int queue = result.column("queue"), scheduled = result.column("scheduled"),
            available = result.column("available"), running = result.column("running"),
            completed = result.column("completed"), failed = result.column("failed"),
            cancelled = result.column("cancelled"), oldest = result.column("oldest_available"),
            finished = result.column("finished");
  std::vector<QueueStats> out;
  out.reserve(static_cast<std::size_t>(result.rows()));
  for (int row = 0; row < result.rows(); ++row) {
    QueueStats stats{
        .queue = std::string(result.text(row, queue)),
        .scheduled = result.i64(row, scheduled),
        .available = result.i64(row, available),
        .running = result.i64(row, running),
        .completed = result.i64(row, completed),
        .failed = result.i64(row, failed),
        .cancelled = result.i64(row, cancelled),
        .finished = result.i64(row, finished),
    };
    if (auto micros = result.opt_i64(row, oldest)) stats.oldest_available = std::chrono::microseconds{*micros};
    out.push_back(std::move(stats));
  }
  return out;
}

auto list(pg::Session& session, const JobFilter& filter) -> std::vector<Job> {
  pg::Params params;
  params.add(filter.queue).add(state_param(filter.state)).add(filter.kind).add(filter.limit);
  return decode_jobs(session.run(sql::admin_list, params));
}

auto peek(pg::Session& session, std::string_view queue) -> std::optional<Job> {
  return decode_job(session.run(sql::admin_peek, pg::Params{}.add(queue)));
}

auto requeue(pg::Session& session, const RequeueTarget& target) -> std::int64_t {
  pg::Params params;
  params.add(target.id).add(target.queue).add(state_param(target.state));
  return session.run(sql::admin_requeue, params).i64(0, 0);
}

auto cancel(pg::Session& session, std::int64_t id) -> CancelResult {
  auto result = session.run(sql::admin_cancel, pg::Params{}.add(id));
  if (auto state = result.opt_text(0, 0)) {
    return *state == to_string(JobState::running) ? CancelResult::cancel_requested : CancelResult::cancelled;
  }
  if (result.boolean(0, 2)) return CancelResult::in_transaction;
  return result.boolean(0, 1) ? CancelResult::already_finished : CancelResult::not_found;
}

auto purge(pg::Session& session, const PurgeFilter& filter) -> PurgeResult {
  auto result = session.run(sql::admin_purge, purge_params(filter));
  return {.deleted = result.i64(0, 0), .skipped = result.i64(0, 1)};
}

auto count_purge(pg::Session& session, const PurgeFilter& filter) -> std::int64_t {
  return session.run(sql::admin_purge_count, purge_params(filter)).i64(0, 0);
}

auto horizon_holder(pg::Session& session) -> std::optional<std::string> {
  auto result = session.run(sql::admin_horizon_holder);
  if (result.rows() == 0) return std::nullopt;
  return std::string(result.text(0, 0));
}

}  // namespace pq::store::admin
