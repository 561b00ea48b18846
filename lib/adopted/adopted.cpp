// pq::Queue on a libpq connection the application owns (include/pq/queue.hpp): the statements pq's own puts
// and gets run, rendered for this PQ's schema and sent unnamed, inside whatever transaction is open there.
#include <array>

#include "pq/queue.hpp"
#include "queue/pool.hpp"
#include "queue/put_checks.hpp"
#include "store/store.hpp"

namespace pq {
namespace {

auto borrowed(pg_conn* conn, detail::Shared& shared) -> pg::Session {
  auto session = pg::Session::borrow(conn);
  session.attach(shared.pool.statements(session), false);
  return session;
}

// Inside the application's transaction, the only place there is: delivered at its commit, dropped by a rollback.
void announce(pg::Session& session, const pg::Notified& notified) {
  const std::array payloads{pg::wake_payload(notified)};
  store::notify(session, payloads);
}

}  // namespace

auto Queue::put(pg_conn* conn, std::string_view json, const PutOptions& options) -> std::int64_t {
  detail::validate_put(*shared_, json, options);
  auto session = borrowed(conn, *shared_);
  auto put = store::put(session, name_, json, options);
  if (put.available) announce(session, detail::notified(name_, put.ids, options));
  return put.ids.front();
}

auto Queue::put_many(pg_conn* conn, std::span<const std::string> jsons, const PutOptions& options)
    -> std::vector<std::int64_t> {
  detail::validate_put_many(*shared_, jsons, options);
  if (jsons.empty()) return {};
  auto session = borrowed(conn, *shared_);
  auto put = store::put_many(session, name_, jsons, options);
  if (put.available) announce(session, detail::notified(name_, put.ids, options));
  return std::move(put.ids);
}

auto Queue::get(pg_conn* conn) -> std::optional<Job> {
  auto session = borrowed(conn, *shared_);
  return store::take(session, name_, shared_->pool.options().keep_completed);
}

}  // namespace pq
