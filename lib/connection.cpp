#include <fmt/core.h>

#include "pg/conninfo.hpp"
#include "pool.hpp"
#include "pq/connection.hpp"
#include "pq/error.hpp"
#include "pq/queue.hpp"
#include "pq/transaction.hpp"
#include "sql_text.hpp"
#include "store.hpp"
#include "transaction_access.hpp"
#include "validate.hpp"

namespace pq {
namespace {

auto validated(ConnectionOptions options) -> ConnectionOptions {
  validate_schema_name(options.schema);
  if (options.max_connections < 1) throw UsageError("max_connections must be at least 1");
  if (options.poll_interval <= std::chrono::milliseconds::zero()) {
    throw UsageError(fmt::format("poll_interval must be positive, got {} ms", options.poll_interval.count()));
  }
  if (options.max_payload < 2) throw UsageError("max_payload must allow at least 2 bytes");
  return options;
}

}  // namespace

PQ::PQ(std::string_view conninfo, ConnectionOptions options)
    : shared_(std::make_shared<detail::Shared>(pg::resolve_conninfo(conninfo), validated(std::move(options)))) {}

auto PQ::latest_schema_version() noexcept -> int { return static_cast<int>(sql::migrations().size()); }

auto PQ::create() -> int {
  // On failure the session is left inside the aborted transaction, so the pool drops it.
  return detail::with_session(*shared_, [&](pg::Session& session) {
    session.exec_script("BEGIN", "begin");
    store::lock_schema(session);
    int version = store::schema_installed(session) ? store::schema_version(session) : 0;
    for (const auto& migration : sql::migrations()) {
      if (migration.version <= version) continue;
      session.exec_script(session.statements().render(migration.text), migration.name);
      store::record_migration(session, migration.version, migration.name);
      version = migration.version;
    }
    session.exec_script("COMMIT", "commit");
    return version;
  });
}

auto PQ::schema_version() -> int {
  return detail::with_session(*shared_, [&](pg::Session& session) {
    return store::schema_installed(session) ? store::schema_version(session) : 0;
  });
}

auto PQ::operator[](std::string_view queue) const -> Queue { return {shared_, queue}; }

auto PQ::queue(std::string_view name) const -> Queue { return {shared_, name}; }

auto PQ::begin() -> Transaction { return detail::TransactionAccess::begin(shared_); }

auto PQ::job(std::int64_t id) -> std::optional<Job> {
  return detail::with_session(*shared_, [&](pg::Session& session) { return store::job(session, id); });
}

auto PQ::registry() const noexcept -> Registry& { return shared_->registry; }

auto PQ::options() const noexcept -> const ConnectionOptions& { return shared_->pool.options(); }

auto PQ::describe() const -> std::string { return pg::describe_conninfo(shared_->pool.conninfo()); }

}  // namespace pq
