// pq::Error: the one exception family of pq.
#pragma once

#include <stdexcept>
#include <string>

namespace pq {

/// Every error pq throws. Carries what a program can act on: the SQLSTATE (empty when the error did not come
/// from the server), the name of the pq statement that failed (never its parameters), and two predicates.
class Error : public std::runtime_error {
 public:
  explicit Error(const std::string& message, std::string sqlstate = {}, std::string statement = {});

  /// Five-character SQLSTATE from the server, or "" for errors raised by pq itself.
  [[nodiscard]] auto sqlstate() const noexcept -> const std::string& { return sqlstate_; }
  /// Name of the embedded statement that failed (e.g. "queue/claim"), or "".
  [[nodiscard]] auto statement() const noexcept -> const std::string& { return statement_; }
  /// The whole transaction may succeed if run again: serialization failure, deadlock, lock timeout, or a
  /// lost connection.
  [[nodiscard]] auto retryable() const noexcept -> bool;
  /// The session is gone (class 08, admin shutdown, crash recovery): reconnect before trying again.
  [[nodiscard]] auto connection_lost() const noexcept -> bool;

 private:
  std::string sqlstate_;
  std::string statement_;
};

/// The caller asked for something that cannot work: a bad option, an empty queue name, a duplicate task.
class UsageError : public Error {
 public:
  explicit UsageError(const std::string& message) : Error(message, "22023") {}
};

/// Malformed JSON, with the byte offset where the parser gave up.
class JsonError : public Error {
 public:
  JsonError(const std::string& message, std::size_t offset)
      : Error(message, "22P02"), offset_(offset) {}
  [[nodiscard]] auto offset() const noexcept -> std::size_t { return offset_; }

 private:
  std::size_t offset_;
};

}  // namespace pq
