#include "queue/notifier.hpp"

#include <exception>

#include "queue/pool.hpp"
#include "store/store.hpp"

namespace pq::detail {

Notifier::~Notifier() {
  {
    std::lock_guard lock(mutex_);
    leaving_ = true;
  }
  wake_.notify_one();
  if (thread_.joinable()) thread_.join();
}

void Notifier::notify(std::span<const pg::Notified> notified) {
  {
    std::lock_guard lock(mutex_);
    for (const auto& one : notified) pg::add_notified(pending_, one);
    if (!thread_.joinable()) thread_ = std::thread([this] { run(); });
  }
  wake_.notify_one();
}

void Notifier::run() {
  std::unique_lock lock(mutex_);
  for (;;) {
    wake_.wait(lock, [&] { return !pending_.empty() || leaving_; });
    if (pending_.empty()) return;
    auto notified = std::move(pending_);
    pending_.clear();
    lock.unlock();
    send(notified);
    lock.lock();
  }
}

void Notifier::send(const std::vector<pg::Notified>& notified) noexcept {
  try {
    std::vector<std::string> payloads;
    payloads.reserve(notified.size());
    for (const auto& one : notified) payloads.push_back(pg::wake_payload(one));
    with_session(pool_, [&](pg::Session& session) { store::notify(session, payloads); });
  } catch (const std::exception&) {
    // The database is away, the pool stayed full, or memory ran out: listeners find these jobs at their next
    // poll, and a worker that reconnects claims at once.
  }
}

}  // namespace pq::detail
