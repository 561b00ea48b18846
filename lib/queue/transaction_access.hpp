// pq's own access to a Transaction's session, kept out of the public header.
#pragma once

#include <memory>

#include "pg/result.hpp"
#include "pg/session.hpp"
#include "pq/transaction.hpp"
#include "queue/pool.hpp"

namespace pq::detail {

struct TransactionAccess {
  static auto begin(const std::shared_ptr<Shared>& shared) -> Transaction;
  /// The session of an active transaction; throws pq::UsageError once it has ended.
  static auto session(Transaction& tx) -> pg::Session&;
  /// The pq::PQ the transaction was begun on.
  static auto shared(Transaction& tx) -> Shared&;
  static auto wrap(pg::Result result) -> Result;
  /// Owes the queue's listeners a NOTIFY once the transaction commits; a rollback owes nothing.
  static void notify_on_commit(Transaction& tx, const pg::Notified& notified);
  /// Owes them one if the transaction rolls back instead: it took jobs, which are available again then, at
  /// their old places, before where workers' claims go on (lib/worker/places.hpp).
  static void notify_on_rollback(Transaction& tx, const pg::Notified& notified);
};

}  // namespace pq::detail
