#include <fmt/core.h>
#include <libpq-fe.h>

#include <cstring>
#include <string>
#include <vector>

#include "pq/error.hpp"
#include "queue/transaction_access.hpp"

namespace pq {

struct Transaction::Impl {
  Impl(std::shared_ptr<detail::Shared> owner, detail::Pool::Lease borrowed)
      : shared(std::move(owner)), lease(std::move(borrowed)) {}
  std::shared_ptr<detail::Shared> shared;  // declared first: the lease goes back before the pool can go
  detail::Pool::Lease lease;
  bool active = true;
  std::vector<pg::Notified> notify;       // owed after the commit, one per queue
  std::vector<pg::Notified> on_rollback;  // owed after a rollback
  std::vector<std::vector<pg::Notified>> saved;  // `notify` as it was at each savepoint still open
  int savepoints = 0;                     // made so far: each gets a name of its own
  void rolled_back() noexcept {
    try {
      if (!on_rollback.empty()) shared->notifier.notify(on_rollback);
    } catch (...) {
      // Not sent: a listener finds the jobs at its poll, or a worker at its next claim from the head.
    }
  }
};

// --- Result ---------------------------------------------------------------------------------------------

auto Result::rows() const noexcept -> int { return result_ ? PQntuples(result_.get()) : 0; }

auto Result::columns() const noexcept -> int { return result_ ? PQnfields(result_.get()) : 0; }

auto Result::column_name(int column) const -> std::string_view {
  check(0, column);
  return PQfname(result_.get(), column);
}

void Result::check(int row, int column) const {
  if (column < 0 || column >= columns() || row < 0 || (row >= rows() && rows() > 0)) {
    throw UsageError("row " + std::to_string(row) + ", column " + std::to_string(column) +
                     " is outside the result (" + std::to_string(rows()) + " rows, " +
                     std::to_string(columns()) + " columns)");
  }
}

auto Result::is_null(int row, int column) const -> bool {
  check(row, column);
  return PQgetisnull(result_.get(), row, column) != 0;
}

auto Result::value(int row, int column) const -> std::optional<std::string_view> {
  if (is_null(row, column)) return std::nullopt;
  return std::string_view(PQgetvalue(result_.get(), row, column),
                          static_cast<std::size_t>(PQgetlength(result_.get(), row, column)));
}

auto Result::get(int row, int column) const -> std::string_view {
  auto text = value(row, column);
  if (!text) throw UsageError("column '" + std::string(column_name(column)) + "' is NULL");
  return *text;
}

auto Result::affected_rows() const noexcept -> std::int64_t {
  if (!result_) return 0;
  const char* count = PQcmdTuples(result_.get());
  return *count != 0 ? std::strtoll(count, nullptr, 10) : 0;
}

// --- Transaction ----------------------------------------------------------------------------------------

Transaction::Transaction(std::unique_ptr<Impl> impl) noexcept : impl_(std::move(impl)) {}
Transaction::Transaction(Transaction&&) noexcept = default;

auto Transaction::operator=(Transaction&& other) noexcept -> Transaction& {
  if (this != &other) {
    rollback();
    impl_ = std::move(other.impl_);
  }
  return *this;
}

Transaction::~Transaction() { rollback(); }

auto Transaction::active() const noexcept -> bool { return impl_ && impl_->active; }

auto Transaction::exec(std::string_view sql, std::initializer_list<Param> params) -> Result {
  return exec(sql, std::span<const Param>(params.begin(), params.size()));
}

auto Transaction::exec(std::string_view sql, std::span<const Param> params) -> Result {
  pg::Params values;
  for (const auto& param : params) values.add(param.value());
  return detail::TransactionAccess::wrap(
      detail::TransactionAccess::session(*this).exec(sql, values, pg::Format::text));
}

void Transaction::commit() {
  auto& session = detail::TransactionAccess::session(*this);
  impl_->active = false;
  if (session.aborted()) {
    session.end("ROLLBACK", "rollback");
    impl_->rolled_back();
    throw Error("commit: the transaction was aborted by an earlier error and has been rolled back", "25P02");
  }
  try {
    session.end("COMMIT", "commit");
  } catch (const Error&) {
    impl_->rolled_back();  // most likely it did not commit; a needless notification costs one claim
    throw;
  }
  if (!impl_->notify.empty()) impl_->shared->notifier.notify(impl_->notify);
}

void Transaction::rollback() {
  if (!active()) return;
  impl_->active = false;
  try {
    impl_->lease->end("ROLLBACK", "rollback");
  } catch (const Error&) {
    // The session is broken or still inside a transaction: the pool drops it instead of reusing it.
  }
  impl_->rolled_back();
}

// --- Savepoint ------------------------------------------------------------------------------------------

namespace {

// PostgreSQL would end the savepoints made after this one with it, and theirs would then name none.
void check_innermost(bool active, std::size_t depth, std::size_t open) {
  if (!active) throw UsageError("the savepoint has already been released or rolled back");
  if (depth != open) throw UsageError("a savepoint made after this one is still open: end it first");
}

}  // namespace

Savepoint::Savepoint(Transaction& tx) : tx_(tx) {
  auto& session = detail::TransactionAccess::session(tx);
  auto& impl = *tx.impl_;
  name_ = "pq_savepoint_" + std::to_string(++impl.savepoints);
  session.exec("SAVEPOINT " + name_, {}, pg::Format::text, "savepoint");
  impl.saved.push_back(impl.notify);
  depth_ = impl.saved.size();
}

Savepoint::~Savepoint() {
  if (!active_) return;
  try {
    rollback();
  } catch (const Error&) {
    // Its transaction has ended, or its session broke: there is nothing left to roll back to.
  }
}

void Savepoint::release() {
  check_innermost(active_, depth_, tx_.impl_ ? tx_.impl_->saved.size() : depth_);
  auto& session = detail::TransactionAccess::session(tx_);
  if (session.aborted()) {
    throw Error("release: a statement after the savepoint failed; roll back to it instead", "25P02");
  }
  session.exec("RELEASE SAVEPOINT " + name_, {}, pg::Format::text, "release savepoint");
  active_ = false;
  tx_.impl_->saved.resize(depth_ - 1);  // what was owed since stays owed
}

void Savepoint::rollback() {
  check_innermost(active_, depth_, tx_.impl_ ? tx_.impl_->saved.size() : depth_);
  active_ = false;
  auto& session = detail::TransactionAccess::session(tx_);
  auto& impl = *tx_.impl_;
  // One round trip: a simple query may carry both, and the first makes an aborted transaction usable again.
  session.exec_script(fmt::format("ROLLBACK TO SAVEPOINT {0}; RELEASE SAVEPOINT {0}", name_),
                      "rollback to savepoint");
  impl.notify = std::move(impl.saved.at(depth_ - 1));
  impl.saved.resize(depth_ - 1);
  // The jobs taken since are available again now, and their rows unlocked. Which of the takes came after
  // the savepoint is not kept apart: one needless notification costs a listener one claim.
  impl.rolled_back();
}

namespace detail {

auto TransactionAccess::begin(const std::shared_ptr<Shared>& shared) -> Transaction {
  auto lease = shared->pool.acquire();
  lease->begin();
  return Transaction(std::make_unique<Transaction::Impl>(shared, std::move(lease)));
}

auto TransactionAccess::session(Transaction& tx) -> pg::Session& {
  if (!tx.active()) throw UsageError("the transaction has already been committed or rolled back");
  return *tx.impl_->lease;
}

auto TransactionAccess::shared(Transaction& tx) -> Shared& {
  if (!tx.impl_) throw UsageError("the transaction has been moved from");
  return *tx.impl_->shared;
}

void TransactionAccess::notify_on_commit(Transaction& tx, const pg::Notified& notified) {
  pg::add_notified(tx.impl_->notify, notified);
}

void TransactionAccess::notify_on_rollback(Transaction& tx, const pg::Notified& notified) {
  pg::add_notified(tx.impl_->on_rollback, notified);
}

auto TransactionAccess::wrap(pg::Result result) -> Result {
  Result out;
  out.result_ = std::shared_ptr<pg_result>(result.release(), PQclear);
  return out;
}

}  // namespace detail
}  // namespace pq
