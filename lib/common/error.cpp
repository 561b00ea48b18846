#include "pq/error.hpp"

namespace pq {

Error::Error(const std::string& message, std::string sqlstate, std::string statement)
    : std::runtime_error(message), sqlstate_(std::move(sqlstate)), statement_(std::move(statement)) {}

auto Error::connection_lost() const noexcept -> bool {
  // Class 08 (connection exception); 57P01..57P03: admin shutdown, crash shutdown, cannot connect now.
  return sqlstate_.starts_with("08") || sqlstate_ == "57P01" || sqlstate_ == "57P02" || sqlstate_ == "57P03";
}

auto Error::retryable() const noexcept -> bool {
  // serialization_failure, deadlock_detected, lock_not_available, or a lost connection.
  return sqlstate_ == "40001" || sqlstate_ == "40P01" || sqlstate_ == "55P03" || connection_lost();
}

}  // namespace pq
