#include "queue/pool.hpp"

#include <fmt/core.h>

#include "pq/error.hpp"

namespace pq::detail {

Pool::Pool(std::string conninfo, ConnectionOptions options)
    : conninfo_(std::move(conninfo)), options_(std::move(options)) {}

Pool::Lease::~Lease() {
  if (session_) pool_->give_back(std::move(session_));
}

auto Pool::statements(pg::Session& quoting) -> std::shared_ptr<const pg::Statements> {
  {
    std::lock_guard lock(mutex_);
    if (statements_) return statements_;
  }
  // Rendered once per pool: quoting needs a live connection, and every session shares the texts.
  auto statements = std::make_shared<const pg::Statements>(quoting, options_.schema);
  std::lock_guard lock(mutex_);
  if (!statements_) statements_ = std::move(statements);
  return statements_;
}

auto Pool::connect() -> std::unique_ptr<pg::Session> {
  auto session = std::make_unique<pg::Session>(conninfo_);
  session->attach(statements(*session), options_.prepare);
  return session;
}

auto Pool::open() -> std::unique_ptr<pg::Session> { return connect(); }

auto Pool::acquire() -> Lease {
  for (;;) {
    std::unique_ptr<pg::Session> session;
    {
      std::unique_lock lock(mutex_);
      if (!freed_.wait_for(lock, options_.acquire_timeout,
                           [&] { return !idle_.empty() || borrowed_ < options_.max_connections; })) {
        throw Error(fmt::format("no free connection after {} ms: all {} are in use (raise ConnectionOptions::max_connections, or pq-worker --max-connections)",
                                options_.acquire_timeout.count(), options_.max_connections),
                    "53300");
      }
      ++borrowed_;
      if (!idle_.empty()) {
        session = std::move(idle_.back());
        idle_.pop_back();
      }
    }
    try {
      if (!session) return {*this, connect()};
      // The health check is a system call: made outside the lock, which every borrower and lender takes.
      if (session->alive()) return {*this, std::move(session)};
    } catch (...) {
      release_slot();
      throw;
    }
    session.reset();  // gone while idle (a restart, an idle timeout): closed, and the next one tried
    release_slot();
  }
}

void Pool::release_slot() noexcept {
  {
    std::lock_guard lock(mutex_);
    --borrowed_;
  }
  freed_.notify_one();
}

void Pool::give_back(std::unique_ptr<pg::Session> session) noexcept {
  std::unique_ptr<pg::Session> dropped;  // closed outside the lock
  {
    std::lock_guard lock(mutex_);
    --borrowed_;
    if (!session->broken() && session->idle()) {
      idle_.push_back(std::move(session));
    } else {
      dropped = std::move(session);
    }
  }
  freed_.notify_one();
}

void Pool::discard_idle() noexcept {
  std::vector<std::unique_ptr<pg::Session>> dropped;
  std::lock_guard lock(mutex_);
  dropped.swap(idle_);
}

}  // namespace pq::detail
