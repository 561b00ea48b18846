#include <fmt/core.h>

#include <thread>

#include "common/backoff.hpp"

#include "common/validate.hpp"
#include "pg/conninfo.hpp"
#include "pq/connection.hpp"
#include "pq/error.hpp"
#include "pq/queue.hpp"
#include "pq/transaction.hpp"
#include "queue/pool.hpp"
#include "queue/transaction_access.hpp"
#include "sql_text.hpp"
#include "store/store.hpp"

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

namespace {

constexpr const char* kLockNotAvailable = "55P03";

// Who was in the way, for the error a migration that kept timing out ends with.
auto lock_holders(pg::Session& session) -> std::string {
  auto result = session.run(sql::schema_lock_holders, pg::Params{}.add(session.statements().schema()));
  std::string text;
  for (int row = 0; row < result.rows(); ++row) {
    text += fmt::format("{}session {} ({}{}, transaction open {} s) holds {}", row == 0 ? "" : "; ",
                        result.i64(row, 0), result.text(row, 3),
                        result.text(row, 2).empty() ? "" : ", application '" + log_safe(result.text(row, 2)) + "'",
                        result.i64(row, 4), log_safe(result.text(row, 1)));
  }
  return text.empty() ? "the session that held it has gone" : text;
}

}  // namespace

auto PQ::create(CreateOptions options) -> int {
  if (options.lock_timeout <= std::chrono::milliseconds::zero()) {
    throw UsageError(fmt::format("lock_timeout must be positive, got {} ms", options.lock_timeout.count()));
  }
  if (options.attempts < 1) throw UsageError(fmt::format("attempts must be at least 1, got {}", options.attempts));
  const int target = options.up_to == 0 ? latest_schema_version() : options.up_to;
  if (target < 1 || target > latest_schema_version()) {
    throw UsageError(fmt::format("up_to must be between 1 and {}, got {}", latest_schema_version(), options.up_to));
  }
  // One transaction per migration, so that a migration that validates what an earlier one added NOT VALID
  // does so without the earlier one's locks. On failure the session is left inside the aborted transaction,
  // so the pool drops it.
  return detail::with_session(*shared_, [&](pg::Session& session) {
    auto pause = std::chrono::milliseconds(200);
    for (int attempt = 1;;) {
      session.exec_script("BEGIN", "begin");
      store::lock_schema(session);  // waits for another create(), which gives up on its own lock_timeout
      const int version = store::schema_installed(session) ? store::schema_version(session) : 0;
      if (version >= target) {
        session.exec_script("COMMIT", "commit");
        return version;
      }
      const auto& migration = sql::migrations()[static_cast<std::size_t>(version)];
      session.exec_script(fmt::format("SET LOCAL lock_timeout = {}", options.lock_timeout.count()), "lock_timeout");
      try {
        session.exec_script(session.statements().render(migration.text), migration.name);
      } catch (const Error& error) {
        if (error.sqlstate() != kLockNotAvailable) throw;
        session.exec_script("ROLLBACK", "rollback");
        if (attempt == options.attempts) {
          throw Error(fmt::format("{} could not lock the tables of schema \"{}\" within {} ms, {} times: {}; "
                                  "retry later, or end that transaction",
                                  migration.name, log_safe(this->options().schema), options.lock_timeout.count(),
                                  options.attempts, lock_holders(session)),
                      kLockNotAvailable, std::string(migration.name));
        }
        std::this_thread::sleep_for(detail::jittered(pause));
        pause *= 2;
        ++attempt;
        continue;
      }
      store::record_migration(session, migration.version, migration.name);
      session.exec_script("COMMIT", "commit");
      attempt = 1;
      pause = std::chrono::milliseconds(200);
    }
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
