// The maintenance services and pq::Scheduler, which runs them on one leader among any number of instances.
#pragma once

#include <chrono>
#include <cstdint>
#include <memory>
#include <string>
#include <vector>

#include "pq/connection.hpp"
#include "pq/worker.hpp"

namespace pq {

using Days = std::chrono::duration<std::int64_t, std::ratio<86400>>;

/// scheduled → available for every due job, one NOTIFY per queue.
class Promoter {
 public:
  explicit Promoter(PQ pq, int batch = 10000);
  /// Returns how many jobs it promoted.
  auto run_once() -> std::int64_t;

 private:
  PQ pq_;
  int batch_;
};

/// One job taken from a worker whose lease ran out.
struct RescuedJob {
  std::int64_t id = 0;
  std::string queue;
  JobState state = JobState::scheduled;  ///< scheduled (to run again), failed (no attempts left) or cancelled
  int attempt = 0;
};

/// running → scheduled (attempts left), failed (none left) or cancelled (cancel requested), for every job
/// whose lease has expired, with "lease expired" appended to its errors.
class Rescuer {
 public:
  explicit Rescuer(PQ pq, int batch = 1000);
  auto run_once() -> std::vector<RescuedJob>;

 private:
  PQ pq_;
  int batch_;
};

/// Deletes finished jobs past their retention.
class Pruner {
 public:
  Pruner(PQ pq, std::chrono::microseconds retention, std::chrono::microseconds failed_retention,
         int batch = 10000);
  /// Returns how many jobs it deleted.
  auto run_once() -> std::int64_t;

 private:
  PQ pq_;
  std::chrono::microseconds retention_;
  std::chrono::microseconds failed_retention_;
  int batch_;
};

/// Leadership as a lease row renewed with the database's clock: no session state, so it works behind
/// PgBouncer; a leader that stops renewing loses it when the lease expires.
class Leader {
 public:
  Leader(PQ pq, std::string id, std::chrono::milliseconds ttl);
  /// Takes or renews the lease; true while this instance leads.
  auto try_acquire() -> bool;
  /// Gives the lease up at once, so a standby takes over without waiting for it to expire.
  void resign() noexcept;
  [[nodiscard]] auto id() const noexcept -> const std::string& { return id_; }

 private:
  PQ pq_;
  std::string id_;
  std::chrono::milliseconds ttl_;
};

struct SchedulerOptions {
  /// How often the leader promotes and rescues.
  std::chrono::milliseconds interval = std::chrono::seconds(1);
  /// Completed and cancelled jobs are kept this long.
  std::chrono::microseconds retention = Days(7);
  /// Failed jobs are kept this long, for inspection and `pq retry`.
  std::chrono::microseconds failed_retention = Days(30);
  /// How often the leader prunes.
  std::chrono::milliseconds prune_interval = std::chrono::minutes(1);
  /// The leadership lease; a standby takes over within about this long after the leader dies.
  std::chrono::milliseconds leader_ttl = std::chrono::seconds(10);
  /// Stop gracefully on SIGTERM and SIGINT while run() runs.
  bool handle_signals = true;
  /// Identifies the instance in the leader row; default "<host>:<pid>:<random>".
  std::string id{};
  /// Default: stderr_log(LogLevel::info).
  LogSink log{};
};

/// The maintenance daemon: any number may run; one leads and acts, the others stand by.
class Scheduler {
 public:
  explicit Scheduler(PQ pq, SchedulerOptions options = {});
  ~Scheduler();
  Scheduler(const Scheduler&) = delete;
  auto operator=(const Scheduler&) -> Scheduler& = delete;

  /// One round: renew or take the leadership, and if leading promote, rescue, and prune when due. Returns
  /// whether this instance led.
  auto run_once() -> bool;
  /// Rounds every interval until stop() or a signal; never throws for database trouble (logs it).
  void run();
  /// Thread-safe and async-signal-safe.
  void stop() noexcept;
  [[nodiscard]] auto id() const -> const std::string&;

  struct State;

 private:
  std::shared_ptr<State> state_;
};

}  // namespace pq
