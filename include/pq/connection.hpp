// pq::PQ: a database, its pq schema and a pool of connections to it.
#pragma once

#include <chrono>
#include <cstdint>
#include <cstddef>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "pq/job.hpp"
#include "pq/pause.hpp"

namespace pq {

class Queue;
class Registry;
class Transaction;

namespace detail {
struct Shared;
}

struct ConnectionOptions {
  /// Schema holding pq's tables: 1..58 bytes of any text; always quoted.
  std::string schema = "pq";
  /// Most connections the pool opens; callers wait for a free one beyond that.
  std::size_t max_connections = 16;
  /// How long to wait for a free connection before throwing.
  std::chrono::milliseconds acquire_timeout = std::chrono::seconds(30);
  /// Wake blocking gets with LISTEN/NOTIFY. Turn off behind a transaction-pooling PgBouncer: polling alone
  /// then finds the jobs.
  bool listen = true;
  /// Use named prepared statements. Turn off behind PgBouncer older than 1.21 in transaction mode.
  bool prepare = true;
  /// A blocking get looks again at least this often, even without a notification.
  std::chrono::milliseconds poll_interval = std::chrono::seconds(1);
  /// Largest job payload accepted, in bytes; larger ones are rejected before any SQL.
  std::size_t max_payload = std::size_t{1} << 20;
  /// Completed jobs are kept for the pruner (pq-scheduler's retention) or, when false, deleted the moment they
  /// complete, as graphile-worker does: by get(), get(tx) once its transaction commits, a Worker and
  /// complete_lease(). Failed and cancelled jobs are always kept.
  bool keep_completed = true;
};

/// How pq::PQ::create() upgrades a schema that others are using.
struct CreateOptions {
  /// Longest wait for one migration's locks. A migration that alters pq.jobs queues behind every open
  /// transaction on it, and every get and put then queues behind the migration; giving up soon and trying
  /// again later keeps them moving.
  std::chrono::milliseconds lock_timeout = std::chrono::seconds(2);
  /// Tries per migration, with a growing pause between them, before create() throws (SQLSTATE 55P03).
  int attempts = 5;
  /// Stop at this schema version instead of the latest (0: the latest), to test an upgrade path.
  int up_to = 0;
};

/// The entry point: `pq::PQ pq{"postgresql://localhost/app"}; pq.create(); pq["apples"].put(...)`.
/// Copies share one pool. Thread-safe.
class PQ {
 public:
  /// `conninfo` is a libpq connection string or URI. When empty, DATABASE_URL is used if set, otherwise
  /// libpq's PG* environment variables. Connections open lazily.
  explicit PQ(std::string_view conninfo = "", ConnectionOptions options = {});

  /// Installs or upgrades the schema: applies the pending migrations, each in a transaction of its own under
  /// an advisory lock and the options' lock_timeout (see docs/upgrading.md). Idempotent, and safe to call
  /// from many processes at once. Returns the schema version. Throws pq::Error with SQLSTATE 55P03, naming
  /// the sessions in the way, when a migration could not get its locks in any of its attempts.
  auto create(CreateOptions options = {}) -> int;
  /// The installed schema version, 0 when pq is not installed in this schema.
  auto schema_version() -> int;
  /// The newest schema version this library knows.
  [[nodiscard]] static auto latest_schema_version() noexcept -> int;

  /// A queue handle; throws pq::UsageError for a name that is empty or over 128 bytes.
  auto operator[](std::string_view queue) const -> Queue;
  auto queue(std::string_view name) const -> Queue;

  /// Begins a transaction on a pooled connection.
  auto begin() -> Transaction;

  /// The tasks registered through this PQ's queues (pq::Queue::task), which a pq::Worker runs.
  [[nodiscard]] auto registry() const noexcept -> Registry&;

  /// One job by id, in any queue and state.
  auto job(std::int64_t id) -> std::optional<Job>;

  /// The pauses in force (Queue::pause), by queue and kind.
  auto paused() -> std::vector<Pause>;
  /// Ends every pause, of every queue and kind, and wakes their workers; returns how many ended.
  auto resume_all() -> std::int64_t;

  [[nodiscard]] auto options() const noexcept -> const ConnectionOptions&;
  /// The connection target for logs and errors, with any password removed.
  [[nodiscard]] auto describe() const -> std::string;

  /// Internal shared state, for pq's own components.
  [[nodiscard]] auto shared() const noexcept -> const std::shared_ptr<detail::Shared>& { return shared_; }

 private:
  std::shared_ptr<detail::Shared> shared_;
};

}  // namespace pq
