// pq::Transaction: one transaction on one pooled connection, for the application's own SQL and pq's.
#pragma once

#include <cstdint>
#include <initializer_list>
#include <memory>
#include <optional>
#include <span>
#include <string>
#include <string_view>
#include <type_traits>

struct pg_result;  // libpq's PGresult, kept out of pq's headers

namespace pq {

namespace detail {
struct TransactionAccess;
}

/// A statement parameter in text form, or SQL NULL.
class Param {
 public:
  Param(std::nullopt_t) noexcept {}  // NOLINT(google-explicit-constructor)
  Param(std::string_view text) : value_(text) {}  // NOLINT(google-explicit-constructor)
  Param(const std::string& text) : value_(text) {}  // NOLINT(google-explicit-constructor)
  Param(const char* text) : value_(std::string(text)) {}  // NOLINT(google-explicit-constructor)
  template <class T>
    requires std::is_integral_v<T> && (!std::is_same_v<T, bool>)
  Param(T number) : value_(std::to_string(number)) {}  // NOLINT(google-explicit-constructor)
  Param(bool flag) : value_(flag ? "true" : "false") {}  // NOLINT(google-explicit-constructor)

  [[nodiscard]] auto value() const noexcept -> const std::optional<std::string>& { return value_; }

 private:
  std::optional<std::string> value_;
};

/// The rows of one statement, in text form.
class Result {
 public:
  Result() = default;

  [[nodiscard]] auto rows() const noexcept -> int;
  [[nodiscard]] auto columns() const noexcept -> int;
  [[nodiscard]] auto column_name(int column) const -> std::string_view;
  [[nodiscard]] auto is_null(int row, int column) const -> bool;
  /// The value as text; throws pq::UsageError when it is NULL or out of range.
  [[nodiscard]] auto get(int row, int column) const -> std::string_view;
  /// The value as text, or nullopt for NULL.
  [[nodiscard]] auto value(int row, int column) const -> std::optional<std::string_view>;
  /// Rows inserted, updated or deleted by the statement.
  [[nodiscard]] auto affected_rows() const noexcept -> std::int64_t;

 private:
  friend struct detail::TransactionAccess;
  void check(int row, int column) const;
  std::shared_ptr<pg_result> result_;
};

/// One open transaction. It rolls back when destroyed unless commit() succeeded. Move-only.
class Transaction {
 public:
  Transaction(Transaction&&) noexcept;
  auto operator=(Transaction&&) noexcept -> Transaction&;
  Transaction(const Transaction&) = delete;
  auto operator=(const Transaction&) -> Transaction& = delete;
  ~Transaction();

  /// Runs one statement with $1, $2, ... parameters (never spliced into the text).
  auto exec(std::string_view sql, std::initializer_list<Param> params = {}) -> Result;
  auto exec(std::string_view sql, std::span<const Param> params) -> Result;

  void commit();
  void rollback();
  /// False once committed or rolled back.
  [[nodiscard]] auto active() const noexcept -> bool;

 private:
  friend struct detail::TransactionAccess;
  friend class Savepoint;
  struct Impl;
  explicit Transaction(std::unique_ptr<Impl> impl) noexcept;
  std::unique_ptr<Impl> impl_;
};

/// A savepoint in a Transaction. Destroyed without release(), it rolls the transaction back to where it was
/// made, and the transaction goes on: a put or get that failed after it (bad data, a lock timeout, a unique
/// violation of the application's own) no longer dooms the rest. The notifications owed change with it: puts
/// undone wake nobody, jobs a get took since are announced as available again. Savepoints nest; each must end
/// before the one made before it, and before its transaction ends or moves. Not copyable or movable.
class Savepoint {
 public:
  explicit Savepoint(Transaction& tx);
  Savepoint(const Savepoint&) = delete;
  auto operator=(const Savepoint&) -> Savepoint& = delete;
  ~Savepoint();

  /// Keeps what was done since. Throws pq::Error (25P02) if a statement since has failed: then rollback().
  void release();
  /// Undoes what was done since; the transaction is usable again.
  void rollback();
  /// False once released or rolled back.
  [[nodiscard]] auto active() const noexcept -> bool { return active_; }

 private:
  Transaction& tx_;
  std::string name_;
  std::size_t depth_ = 0;  // its place among the open savepoints of its transaction, 1 the outermost
  bool active_ = true;
};

}  // namespace pq
