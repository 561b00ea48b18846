// The maintenance services' statements, sql/maintenance/ (see store.hpp).
#include "store/store.hpp"

namespace pq::store {

auto promote_due(pg::Session& session, int batch) -> std::vector<Promoted> {
  auto result = session.run(sql::maintenance_promote_due, pg::Params{}.add(batch));
  std::vector<Promoted> out;
  for (int row = 0; row < result.rows(); ++row) out.push_back({std::string(result.text(row, 0)), result.i64(row, 1)});
  return out;
}

auto rescue_expired(pg::Session& session, int batch, const std::vector<std::string>* queues)
    -> std::vector<Rescued> {
  pg::Params params;
  params.add(batch);
  params.add(queues != nullptr ? std::optional{pg::text_array(*queues)} : std::nullopt);  // NULL: every queue
  auto result = session.run(sql::maintenance_rescue_expired, params);
  std::vector<Rescued> out;
  for (int row = 0; row < result.rows(); ++row) {
    out.push_back({result.i64(row, 0), std::string(result.text(row, 1)), parse_job_state(result.text(row, 2)),
                   static_cast<int>(result.i64(row, 3))});
  }
  return out;
}

auto prune_finished(pg::Session& session, std::chrono::microseconds retention,
                    std::chrono::microseconds failed_retention, int batch) -> std::int64_t {
  return session.run(sql::maintenance_prune_finished,
                     pg::Params{}.add(retention).add(failed_retention).add(batch))
      .affected_rows();
}

auto leader_elect(pg::Session& session, std::string_view holder, std::chrono::microseconds ttl) -> bool {
  return session.run(sql::maintenance_leader_elect, pg::Params{}.add(holder).add(ttl)).rows() == 1;
}

void leader_resign(pg::Session& session, std::string_view holder) {
  session.run(sql::maintenance_leader_resign, pg::Params{}.add(holder));
}

}  // namespace pq::store
