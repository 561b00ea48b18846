// JSON as pq stores it: validation of job data, a small tree for decoding task arguments, a writer for
// encoding them, and pq::json_traits<T>, the customisation point that connects the two to C++ types.
#pragma once

#include <cstdint>
#include <limits>
#include <map>
#include <optional>
#include <string>
#include <string_view>
#include <type_traits>
#include <unordered_map>
#include <utility>
#include <variant>
#include <vector>

#include "pq/error.hpp"

namespace pq {

/// The deepest nesting of arrays and objects pq accepts: low enough that common consumers read every job
/// back (Python's json module fails near 1000 levels).
inline constexpr std::size_t kMaxJsonDepth = 512;

/// Throws pq::JsonError naming the offset, line and column where `text` stops being one JSON document that
/// PostgreSQL's jsonb can store (no NUL bytes, no \u0000 escapes, valid UTF-8, nested at most kMaxJsonDepth
/// levels). The message quotes a few bytes of the text from there, non-printable ones escaped as \xNN.
void validate_json(std::string_view text);

/// A value that does not fit the type a handler asked for. Jobs failing this way are failed at once:
/// retrying cannot change their arguments.
class DecodeError : public Error {
 public:
  explicit DecodeError(const std::string& message) : Error(message, "22P02") {}
};

/// A parsed JSON value (parsed with simdjson). Objects keep their members in document order.
class Json {
 public:
  using Array = std::vector<Json>;
  using Object = std::vector<std::pair<std::string, Json>>;
  enum class Type { null, boolean, integer, unsigned_integer, number, string, array, object };

  Json() = default;
  /// Parses one document; throws pq::JsonError.
  static auto parse(std::string_view text) -> Json;

  [[nodiscard]] auto type() const noexcept -> Type { return static_cast<Type>(value_.index()); }
  [[nodiscard]] auto type_name() const noexcept -> std::string_view;
  [[nodiscard]] auto is_null() const noexcept -> bool { return type() == Type::null; }

  // Each accessor throws pq::DecodeError naming the expected and the actual type.
  [[nodiscard]] auto as_bool() const -> bool;
  [[nodiscard]] auto as_int() const -> std::int64_t;
  [[nodiscard]] auto as_uint() const -> std::uint64_t;
  [[nodiscard]] auto as_double() const -> double;
  [[nodiscard]] auto as_string() const -> const std::string&;
  [[nodiscard]] auto as_array() const -> const Array&;
  [[nodiscard]] auto as_object() const -> const Object&;
  /// The member `key`; throws pq::DecodeError when absent.
  [[nodiscard]] auto operator[](std::string_view key) const -> const Json&;
  /// The member `key`, or nullptr.
  [[nodiscard]] auto find(std::string_view key) const -> const Json*;

  explicit Json(std::nullptr_t) noexcept {}
  explicit Json(bool value) : value_(value) {}
  explicit Json(std::int64_t value) : value_(value) {}
  explicit Json(std::uint64_t value) : value_(value) {}
  explicit Json(double value) : value_(value) {}
  explicit Json(std::string value) : value_(std::move(value)) {}
  explicit Json(Array value) : value_(std::move(value)) {}
  explicit Json(Object value) : value_(std::move(value)) {}

 private:
  [[noreturn]] void mismatch(std::string_view wanted) const;
  std::variant<std::nullptr_t, bool, std::int64_t, std::uint64_t, double, std::string, Array, Object> value_;
};

/// Writes compact JSON text; commas and escapes are its business.
class JsonWriter {
 public:
  void null();
  void boolean(bool value);
  void integer(std::int64_t value);
  void unsigned_integer(std::uint64_t value);
  /// Throws pq::UsageError for NaN and infinities, which JSON cannot express.
  void number(double value);
  void string(std::string_view value);
  void begin_array();
  void end_array();
  void begin_object();
  void key(std::string_view name);
  void end_object();
  /// Inserts already valid JSON text as one value.
  void raw(std::string_view json);

  [[nodiscard]] auto str() const noexcept -> const std::string& { return out_; }
  auto take() noexcept -> std::string { return std::move(out_); }

 private:
  void separate();
  std::string out_;
  std::vector<bool> first_;  // one entry per open array/object: no member written yet
  bool after_key_ = false;
};

/// The customisation point: `static void encode(JsonWriter&, const T&)` and `static T decode(const Json&)`.
/// pq provides integers, floating point, bool, strings, vectors, maps with string keys, optionals and Json;
/// specialise it for your own types.
template <class T, class Enable = void>
struct json_traits;

template <class T>
void encode(JsonWriter& out, const T& value) {
  json_traits<std::remove_cvref_t<T>>::encode(out, value);
}

template <class T>
auto decode(const Json& json) -> T {
  return json_traits<T>::decode(json);
}

template <>
struct json_traits<bool> {
  static void encode(JsonWriter& out, bool value) { out.boolean(value); }
  static auto decode(const Json& json) -> bool { return json.as_bool(); }
};

namespace detail {
[[noreturn]] void integer_out_of_range(std::string_view type, const Json& json);
}

template <class T>
struct json_traits<T, std::enable_if_t<std::is_integral_v<T> && !std::is_same_v<T, bool>>> {
  static void encode(JsonWriter& out, T value) {
    if constexpr (std::is_signed_v<T>) {
      out.integer(value);
    } else {
      out.unsigned_integer(value);
    }
  }
  static auto decode(const Json& json) -> T {
    if constexpr (std::is_signed_v<T>) {
      auto value = json.as_int();
      if (value < static_cast<std::int64_t>(std::numeric_limits<T>::min()) ||
          value > static_cast<std::int64_t>(std::numeric_limits<T>::max())) {
        detail::integer_out_of_range(sizeof(T) == 8 ? "int64" : sizeof(T) == 4 ? "int32" : "a small integer", json);
      }
      return static_cast<T>(value);
    } else {
      auto value = json.as_uint();
      if (value > static_cast<std::uint64_t>(std::numeric_limits<T>::max())) {
        detail::integer_out_of_range("an unsigned integer of this width", json);
      }
      return static_cast<T>(value);
    }
  }
};

template <class T>
struct json_traits<T, std::enable_if_t<std::is_floating_point_v<T>>> {
  static void encode(JsonWriter& out, T value) { out.number(static_cast<double>(value)); }
  static auto decode(const Json& json) -> T { return static_cast<T>(json.as_double()); }
};

template <>
struct json_traits<std::string> {
  static void encode(JsonWriter& out, std::string_view value) { out.string(value); }
  static auto decode(const Json& json) -> std::string { return json.as_string(); }
};

template <>
struct json_traits<std::string_view> {
  static void encode(JsonWriter& out, std::string_view value) { out.string(value); }
};

template <>
struct json_traits<const char*> {
  static void encode(JsonWriter& out, const char* value) { out.string(value); }
};

template <std::size_t N>
struct json_traits<char[N]> {
  static void encode(JsonWriter& out, const char* value) { out.string(value); }
};

template <>
struct json_traits<Json> {
  static void encode(JsonWriter& out, const Json& value);
  static auto decode(const Json& json) -> Json { return json; }
};

template <class T>
struct json_traits<std::optional<T>> {
  static void encode(JsonWriter& out, const std::optional<T>& value) {
    if (value) {
      pq::encode(out, *value);
    } else {
      out.null();
    }
  }
  static auto decode(const Json& json) -> std::optional<T> {
    if (json.is_null()) return std::nullopt;
    return pq::decode<T>(json);
  }
};

namespace detail {
/// Runs `decode_one`, prefixing any pq::DecodeError with where the value sat (`[3]`, `.name`).
template <class F>
auto at_path(std::string_view where, F&& decode_one) -> decltype(decode_one()) {
  try {
    return decode_one();
  } catch (const DecodeError& error) {
    throw DecodeError(std::string(where) + ": " + error.what());
  }
}
}  // namespace detail

template <class T, class A>
struct json_traits<std::vector<T, A>> {
  static void encode(JsonWriter& out, const std::vector<T, A>& values) {
    out.begin_array();
    for (const auto& value : values) pq::encode(out, value);
    out.end_array();
  }
  static auto decode(const Json& json) -> std::vector<T, A> {
    std::vector<T, A> values;
    const auto& array = json.as_array();
    values.reserve(array.size());
    for (std::size_t i = 0; i < array.size(); ++i) {
      values.push_back(detail::at_path("[" + std::to_string(i) + "]", [&] { return pq::decode<T>(array[i]); }));
    }
    return values;
  }
};

namespace detail {
template <class Map>
struct map_traits {
  using Value = typename Map::mapped_type;
  static void encode(JsonWriter& out, const Map& map) {
    out.begin_object();
    for (const auto& [key, value] : map) {
      out.key(key);
      pq::encode(out, value);
    }
    out.end_object();
  }
  static auto decode(const Json& json) -> Map {
    Map map;
    // Not a structured binding: clang before 16 cannot capture one in the lambda.
    for (const auto& member : json.as_object()) {
      map.insert_or_assign(member.first,
                           at_path("." + member.first, [&] { return pq::decode<Value>(member.second); }));
    }
    return map;
  }
};
}  // namespace detail

template <class T, class C, class A>
struct json_traits<std::map<std::string, T, C, A>> : detail::map_traits<std::map<std::string, T, C, A>> {};

template <class T, class H, class E, class A>
struct json_traits<std::unordered_map<std::string, T, H, E, A>>
    : detail::map_traits<std::unordered_map<std::string, T, H, E, A>> {};

}  // namespace pq
