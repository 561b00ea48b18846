// A thread-safe pool of sessions to one database and schema.
#pragma once

#include <condition_variable>
#include <cstddef>
#include <memory>
#include <mutex>
#include <string>
#include <vector>

#include "pg/session.hpp"
#include "pg/statements.hpp"
#include "pq/connection.hpp"
#include "pq/error.hpp"
#include "pq/task.hpp"
#include "queue/notifier.hpp"

namespace pq::detail {

class Pool {
 public:
  Pool(std::string conninfo, ConnectionOptions options);

  /// A session borrowed from the pool, returned when destroyed (or dropped when it broke or was left
  /// inside a transaction).
  class Lease {
   public:
    Lease(Pool& pool, std::unique_ptr<pg::Session> session) noexcept
        : pool_(&pool), session_(std::move(session)) {}
    Lease(Lease&& other) noexcept = default;
    auto operator=(Lease&& other) noexcept -> Lease& = delete;
    Lease(const Lease&) = delete;
    auto operator=(const Lease&) -> Lease& = delete;
    ~Lease();

    auto operator*() const noexcept -> pg::Session& { return *session_; }
    auto operator->() const noexcept -> pg::Session* { return session_.get(); }

   private:
    Pool* pool_;
    std::unique_ptr<pg::Session> session_;
  };

  /// Borrows an idle session or opens one; waits for a free one at max_connections; throws on timeout.
  auto acquire() -> Lease;
  /// A session of its own, outside the pool's count (workers' fetchers and completers, listeners).
  auto open() -> std::unique_ptr<pg::Session>;
  /// The statement texts of this pool's schema, rendered the first time through `quoting` (any open
  /// session: a pooled one, or a connection the application lends, lib/adopted/adopted.cpp).
  auto statements(pg::Session& quoting) -> std::shared_ptr<const pg::Statements>;
  /// Closes every idle session: called when one of them found the server gone.
  void discard_idle() noexcept;

  [[nodiscard]] auto conninfo() const noexcept -> const std::string& { return conninfo_; }
  [[nodiscard]] auto options() const noexcept -> const ConnectionOptions& { return options_; }

 private:
  void give_back(std::unique_ptr<pg::Session> session) noexcept;
  /// Returns a borrowed slot whose session never reached, or will not reach, the borrower.
  void release_slot() noexcept;
  auto connect() -> std::unique_ptr<pg::Session>;

  std::string conninfo_;
  ConnectionOptions options_;
  std::mutex mutex_;
  std::condition_variable freed_;
  std::vector<std::unique_ptr<pg::Session>> idle_;
  std::size_t borrowed_ = 0;
  std::shared_ptr<const pg::Statements> statements_;
};

/// What every handle of one pq::PQ shares.
struct Shared {
  Shared(std::string conninfo, ConnectionOptions options) : pool(std::move(conninfo), std::move(options)) {}
  Pool pool;
  Notifier notifier{pool};  // declared after the pool: it sends what is pending before the pool goes
  Registry registry;  // the tasks registered through this pq::PQ's queues
};

/// Runs `fn(session)` on a pooled session; a lost connection also discards the idle sessions, which the
/// same server restart has most likely killed too.
template <class Fn>
auto with_session(Pool& pool, Fn&& fn) -> decltype(fn(std::declval<pg::Session&>())) {
  auto lease = pool.acquire();
  try {
    return fn(*lease);
  } catch (const Error& error) {
    if (error.connection_lost()) pool.discard_idle();
    throw;
  }
}

template <class Fn>
auto with_session(Shared& shared, Fn&& fn) -> decltype(fn(std::declval<pg::Session&>())) {
  return with_session(shared.pool, std::forward<Fn>(fn));
}

}  // namespace pq::detail
