// The worker's statements, sql/queue/: settle, heartbeat and lock the jobs it holds (see store.hpp).
#include "store/store.hpp"

namespace pq::store {
namespace {

auto held_params(const Held& jobs) -> pg::Params {
  pg::Params params;
  params.add(pg::integer_array(jobs.ids)).add(pg::integer_array(jobs.attempts));
  return params;
}


}  // namespace

auto complete_many(pg::Session& session, const Held& jobs, std::string_view worker, bool keep_completed)
    -> std::vector<std::int64_t> {
  if (jobs.empty()) return {};
  const auto& statement = keep_completed ? sql::queue_complete_many : sql::queue_delete_completed_many;
  return session.run(statement, held_params(jobs).add(worker)).column_i64(0);
}

auto retry_many(pg::Session& session, const Held& jobs, std::span<const std::int64_t> delays_us,
                std::span<const std::string> errors, std::string_view worker) -> Retried {
  if (jobs.empty()) return {};
  auto params = held_params(jobs);
  params.add(pg::integer_array(delays_us)).add(pg::text_array(errors)).add(worker);
  auto result = session.run(sql::queue_retry_many, params);
  Retried out;
  for (int row = 0; row < result.rows(); ++row) {
    (result.boolean(row, 1) ? out.cancelled : out.rescheduled).push_back(result.i64(row, 0));
  }
  return out;
}

auto fail_many(pg::Session& session, const Held& jobs, std::span<const std::string> errors,
               std::string_view worker) -> std::vector<std::int64_t> {
  if (jobs.empty()) return {};
  auto params = held_params(jobs);
  params.add(pg::text_array(errors)).add(worker);
  return session.run(sql::queue_fail_many, params).column_i64(0);
}

auto release_many(pg::Session& session, const Held& jobs, std::string_view worker) -> std::vector<std::int64_t> {
  if (jobs.empty()) return {};
  return session.run(sql::queue_release_many, held_params(jobs).add(worker)).column_i64(0);
}

auto heartbeat(pg::Session& session, const Held& jobs, std::string_view worker, std::chrono::microseconds lease)
    -> std::vector<Heartbeat> {
  if (jobs.empty()) return {};
  auto result = session.run(sql::queue_heartbeat, held_params(jobs).add(worker).add(lease));
  std::vector<Heartbeat> out;
  for (int row = 0; row < result.rows(); ++row) out.push_back({result.i64(row, 0), result.boolean(row, 1)});
  return out;
}

auto lock_running(pg::Session& session, std::int64_t id, int attempt, std::string_view worker) -> bool {
  return session.run(sql::queue_lock_running, pg::Params{}.add(id).add(attempt).add(worker)).rows() == 1;
}

void limit_transaction(pg::Session& session, std::chrono::milliseconds timeout) {
  session.run(sql::queue_limit_transaction, pg::Params{}.add(std::int64_t{timeout.count()}));
}

}  // namespace pq::store
