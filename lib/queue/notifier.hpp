// The NOTIFYs that wake listeners when jobs become available, sent after the commits that made them so.
#pragma once

#include <condition_variable>
#include <mutex>
#include <span>
#include <string>
#include <string_view>
#include <thread>
#include <vector>

#include "pg/statements.hpp"

namespace pq::detail {

class Pool;

/// Sends queue/notify from a thread of its own, on a pooled session, in a transaction that writes nothing:
/// producers never wait for it, and never for each other. Inside a writing transaction a NOTIFY holds the
/// database's notify lock from before that transaction's commit until after its WAL flush, so that every
/// notifying producer would commit one flush at a time. Queues asked for while a NOTIFY is on its way go out
/// together in the next one. A notification lost to a failure (or to a crash between the commit and the
/// NOTIFY) costs a listener at most its poll interval.
class Notifier {
 public:
  explicit Notifier(Pool& pool) : pool_(pool) {}
  /// Sends what is still pending, then stops the thread.
  ~Notifier();
  Notifier(const Notifier&) = delete;
  auto operator=(const Notifier&) -> Notifier& = delete;

  /// After a commit that made jobs available. Returns at once.
  void notify(std::span<const pg::Notified> notified);
  void notify(const pg::Notified& notified) { notify(std::span<const pg::Notified>(&notified, 1)); }

 private:
  void run();
  void send(const std::vector<pg::Notified>& notified) noexcept;

  Pool& pool_;
  std::mutex mutex_;
  std::condition_variable wake_;
  std::vector<pg::Notified> pending_;  // one per queue
  bool leaving_ = false;
  std::thread thread_;  // started by the first notification
};

}  // namespace pq::detail
