#include "pg/result.hpp"

#include <fmt/core.h>

#include <charconv>
#include <cstring>

#include "pq/error.hpp"

namespace pq::pg {
namespace {

// Type OIDs are fixed in PostgreSQL's catalog (pg_type.dat); the server headers that name them are not
// part of libpq-dev.
constexpr Oid kBool = 16;
constexpr Oid kInt8 = 20;
constexpr Oid kInt2 = 21;
constexpr Oid kInt4 = 23;
constexpr Oid kTimestamp = 1114;
constexpr Oid kTimestamptz = 1184;
constexpr Oid kJsonb = 3802;

// Binary timestamps count microseconds from 2000-01-01 00:00:00 UTC.
constexpr std::int64_t kPostgresEpochMicros = 946'684'800LL * 1'000'000LL;

template <class T>
auto read_big_endian(std::string_view bytes) -> T {
  if (bytes.size() != sizeof(T)) throw Error(fmt::format("expected {} bytes, got {}", sizeof(T), bytes.size()));
  std::make_unsigned_t<T> value = 0;
  for (unsigned char byte : bytes) value = static_cast<std::make_unsigned_t<T>>((value << 8U) | byte);
  return static_cast<T>(value);
}

[[noreturn]] void type_mismatch(const PGresult* result, int column, const char* wanted) {
  throw Error(fmt::format("column '{}' has type oid {}, expected {}", PQfname(result, column),
                          PQftype(result, column), wanted));
}

}  // namespace

auto Result::affected_rows() const noexcept -> std::int64_t {
  const char* count = handle_ ? PQcmdTuples(handle_.get()) : "";
  std::int64_t value = 0;
  std::from_chars(count, count + std::strlen(count), value);
  return value;
}

auto Result::column(const char* name) const -> int {
  int number = PQfnumber(handle_.get(), name);
  if (number < 0) throw Error(fmt::format("result has no column '{}'", name));
  return number;
}

auto Result::bytes(int row, int column) const -> std::string_view {
  if (is_null(row, column)) {
    throw Error(fmt::format("column '{}' is NULL", PQfname(handle_.get(), column)));
  }
  return {PQgetvalue(handle_.get(), row, column),
          static_cast<std::size_t>(PQgetlength(handle_.get(), row, column))};
}

auto Result::i64(int row, int column) const -> std::int64_t {
  auto value = bytes(row, column);
  switch (PQftype(handle_.get(), column)) {
    case kInt8:
      return read_big_endian<std::int64_t>(value);
    case kInt4:
      return read_big_endian<std::int32_t>(value);
    case kInt2:
      return read_big_endian<std::int16_t>(value);
    default:
      type_mismatch(handle_.get(), column, "an integer");
  }
}

auto Result::boolean(int row, int column) const -> bool {
  auto value = bytes(row, column);
  if (PQftype(handle_.get(), column) != kBool) type_mismatch(handle_.get(), column, "boolean");
  return value.at(0) != 0;
}

auto Result::text(int row, int column) const -> std::string_view {
  auto value = bytes(row, column);
  switch (PQftype(handle_.get(), column)) {
    case kJsonb:
      return value.substr(1);  // a version byte (1) precedes the JSON text
    case kBool:
    case kInt2:
    case kInt4:
    case kInt8:
    case kTimestamp:
    case kTimestamptz:
      type_mismatch(handle_.get(), column, "text");
    default:  // text, varchar, name, json and enum labels are sent as their text
      return value;
  }
}

auto Result::time(int row, int column) const -> TimePoint {
  auto value = bytes(row, column);
  auto type = PQftype(handle_.get(), column);
  if (type != kTimestamptz && type != kTimestamp) type_mismatch(handle_.get(), column, "timestamptz");
  // 'infinity', '-infinity' and times beyond the clock's range (system_clock counts nanoseconds: 1677 to
  // 2262) saturate to its ends instead of overflowing.
  const auto micros = read_big_endian<std::int64_t>(value);
  constexpr auto kClockMicros =
      std::chrono::duration_cast<std::chrono::microseconds>(Clock::duration::max()).count();
  if (micros > kClockMicros - kPostgresEpochMicros) return TimePoint::max();
  if (micros < -kClockMicros - kPostgresEpochMicros) return TimePoint::min();
  return TimePoint{std::chrono::duration_cast<Clock::duration>(
      std::chrono::microseconds{micros + kPostgresEpochMicros})};
}

auto Result::opt_i64(int row, int column) const -> std::optional<std::int64_t> {
  if (is_null(row, column)) return std::nullopt;
  return i64(row, column);
}

auto Result::column_i64(int column) const -> std::vector<std::int64_t> {
  std::vector<std::int64_t> values;
  values.reserve(static_cast<std::size_t>(rows()));
  for (int row = 0; row < rows(); ++row) values.push_back(i64(row, column));
  return values;
}

auto Result::opt_text(int row, int column) const -> std::optional<std::string_view> {
  if (is_null(row, column)) return std::nullopt;
  return text(row, column);
}

auto Result::opt_time(int row, int column) const -> std::optional<TimePoint> {
  if (is_null(row, column)) return std::nullopt;
  return time(row, column);
}

}  // namespace pq::pg
