// The floor: what the same server reaches with the minimal SQL equivalent to a workload, run by pgbench on a
// plain table of pq's shape, or by a bare libpq loop for the wake-up.
#pragma once

#include <atomic>
#include <cstdint>
#include <filesystem>
#include <functional>
#include <string>
#include <string_view>
#include <thread>

#include "bench.hpp"
#include "connection.hpp"

namespace pq::bench {

/// pgbench from the PostgreSQL install, running scripts against the server; returns transactions per second
/// without the connection time.
class Pgbench {
 public:
  Pgbench(std::string conninfo, std::filesystem::path directory);

  auto run(const std::string& name, const std::string& script, int clients, int transactions) -> double;

 private:
  std::string binary_;
  std::string conninfo_;
  std::filesystem::path directory_;
};

// pq's dequeue order, as its claim index (sql/migrations/006_claim_key.sql) keys it.
inline constexpr const char* kClaimOrder = "priority, coalesce(expected_at, 'infinity'), id";

// The columns of pq.jobs as sql/migrations/001_init.sql made them, with plain types, only the primary key and
// the one index a claim needs, no constraints, default fillfactor.
auto floor_table() -> std::string;
auto floor_insert(std::string_view queue, std::string_view schema = kFloor) -> std::string;
auto shaped_table() -> std::string;
auto floor_fill(std::string_view schema, std::string_view queue, int count) -> std::string;
// available → completed for `limit` rows in dequeue order, as pq's take does.
auto floor_claim(std::string_view schema, std::string_view queue, int limit) -> std::string;
// available → gone for `limit` rows in dequeue order: a queue that keeps no history.
auto floor_delete(std::string_view schema, std::string_view queue, int limit) -> std::string;

/// W4's floor in bare libpq: a listener that waits on its socket for the producer's NOTIFY and claims the
/// floor's rows one at a time, and the producer, whose INSERT sends that NOTIFY.
class WakeFloor {
 public:
  /// Starts listening; `started` gets each claimed row's id, on the listener's thread.
  WakeFloor(const std::string& conninfo, std::function<void(std::int64_t)> started);
  /// Stops the listener.
  ~WakeFloor();
  WakeFloor(const WakeFloor&) = delete;
  auto operator=(const WakeFloor&) -> WakeFloor& = delete;

  /// Inserts one row and notifies the listener; returns the row's id once committed.
  auto put() -> std::int64_t;

 private:
  void listen();

  Connection listener_;
  Connection producer_;
  std::function<void(std::int64_t)> started_;
  std::atomic<bool> stop_{false};
  std::thread loop_;
};

}  // namespace pq::bench
