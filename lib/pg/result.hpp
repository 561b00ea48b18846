// A read-only view of one statement's rows in libpq's binary format, with typed getters that check the
// column's type and refuse NULL unless asked for an optional.
#pragma once

#include <libpq-fe.h>

#include <chrono>
#include <cstdint>
#include <memory>
#include <optional>
#include <string_view>
#include <vector>

#include "pg/handle.hpp"
#include "pq/job.hpp"

namespace pq::pg {

class Result {
 public:
  Result() = default;
  explicit Result(ResultHandle handle) noexcept : handle_(std::move(handle)) {}

  [[nodiscard]] auto rows() const noexcept -> int { return handle_ ? PQntuples(handle_.get()) : 0; }
  [[nodiscard]] auto affected_rows() const noexcept -> std::int64_t;
  /// Column number by name; throws when the statement did not return it.
  [[nodiscard]] auto column(const char* name) const -> int;
  [[nodiscard]] auto is_null(int row, int column) const noexcept -> bool {
    return PQgetisnull(handle_.get(), row, column) != 0;
  }

  [[nodiscard]] auto i64(int row, int column) const -> std::int64_t;
  [[nodiscard]] auto boolean(int row, int column) const -> bool;
  /// text, varchar, name, enum labels, json and jsonb (without jsonb's version byte).
  [[nodiscard]] auto text(int row, int column) const -> std::string_view;
  [[nodiscard]] auto time(int row, int column) const -> TimePoint;

  [[nodiscard]] auto opt_i64(int row, int column) const -> std::optional<std::int64_t>;
  /// Every row's value of an integer column (the ids a statement returned).
  [[nodiscard]] auto column_i64(int column) const -> std::vector<std::int64_t>;
  [[nodiscard]] auto opt_text(int row, int column) const -> std::optional<std::string_view>;
  [[nodiscard]] auto opt_time(int row, int column) const -> std::optional<TimePoint>;

  [[nodiscard]] auto get() const noexcept -> PGresult* { return handle_.get(); }
  /// Hands the result over to a shared owner (the public pq::Result).
  auto release() noexcept -> PGresult* { return handle_.release(); }

 private:
  [[nodiscard]] auto bytes(int row, int column) const -> std::string_view;
  ResultHandle handle_;
};

}  // namespace pq::pg
