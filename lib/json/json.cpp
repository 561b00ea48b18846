// The Json tree (decoded with simdjson's DOM parser) and JsonWriter.
#include <fmt/format.h>
#include <simdjson.h>

#include <cmath>
#include <new>

#include "pq/json.hpp"

namespace pq {
namespace {

auto convert(simdjson::dom::element element) -> Json {
  switch (element.type()) {
    case simdjson::dom::element_type::ARRAY: {
      simdjson::dom::array items;
      Json::Array array;
      if (element.get(items) == simdjson::SUCCESS) {
        for (auto item : items) array.push_back(convert(item));
      }
      return Json(std::move(array));
    }
    case simdjson::dom::element_type::OBJECT: {
      simdjson::dom::object fields;
      Json::Object object;
      if (element.get(fields) == simdjson::SUCCESS) {
        for (auto field : fields) object.emplace_back(std::string(field.key), convert(field.value));
      }
      return Json(std::move(object));
    }
    case simdjson::dom::element_type::INT64:
      return Json(std::int64_t{element});
    case simdjson::dom::element_type::UINT64:
      return Json(std::uint64_t{element});
    case simdjson::dom::element_type::DOUBLE:
      return Json(double{element});
    case simdjson::dom::element_type::STRING:
      return Json(std::string(std::string_view{element}));
    case simdjson::dom::element_type::BOOL:
      return Json(bool{element});
    case simdjson::dom::element_type::NULL_VALUE:
      break;
  }
  return Json(nullptr);
}

constexpr std::array<std::string_view, 8> kTypeNames{"null",   "boolean", "integer", "integer",
                                                     "number", "string",  "array",   "object"};

auto describe(const Json& json) -> std::string {
  switch (json.type()) {
    case Json::Type::string: {
      // Job data may hold anything: control characters are escaped, so that none reaches a terminal or a log.
      auto text = json.as_string();
      std::string shown;
      for (char c : text.substr(0, 40)) {
        const auto byte = static_cast<unsigned char>(c);
        shown += byte < 0x20 || byte == 0x7f ? fmt::format("\\x{:02x}", byte) : std::string(1, c);
      }
      return fmt::format("string \"{}{}\"", shown, text.size() > 40 ? "..." : "");
    }
    case Json::Type::integer:
      return fmt::format("integer {}", json.as_int());
    case Json::Type::unsigned_integer:
      return fmt::format("integer {}", json.as_uint());
    case Json::Type::number: {
      const double value = json.as_double();
      // 3.0 prints as "3": say why it is no integer, or "expected an integer, got number 3" makes no sense.
      if (std::isfinite(value) && value == std::trunc(value)) {
        return fmt::format("number {:.1f} (written with a decimal point or an exponent; an integer has neither)",
                           value);
      }
      return fmt::format("number {}", value);
    }
    case Json::Type::boolean:
      return json.as_bool() ? "true" : "false";
    default:
      return std::string(json.type_name());
  }
}

}  // namespace

auto Json::parse(std::string_view text) -> Json {
  // The same limit as validate_json's, so that the two agree on what is JSON.
  thread_local simdjson::dom::parser parser = [] {
    simdjson::dom::parser fresh;
    if (fresh.allocate(4096, kMaxJsonDepth) != simdjson::SUCCESS) throw std::bad_alloc();
    return fresh;
  }();
  simdjson::dom::element root;
  if (parser.parse(text.data(), text.size()).get(root) != simdjson::SUCCESS) {
    validate_json(text);  // throws with the position for malformed text
    throw DecodeError("JSON value out of the range pq can decode (a number wider than 64 bits?)");
  }
  return convert(root);
}

auto Json::type_name() const noexcept -> std::string_view { return kTypeNames.at(value_.index()); }

void Json::mismatch(std::string_view wanted) const {
  throw DecodeError(fmt::format("expected {}, got {}", wanted, describe(*this)));
}

auto Json::as_bool() const -> bool {
  if (const auto* value = std::get_if<bool>(&value_)) return *value;
  mismatch("a boolean");
}

auto Json::as_int() const -> std::int64_t {
  if (const auto* value = std::get_if<std::int64_t>(&value_)) return *value;
  mismatch(type() == Type::unsigned_integer ? "an integer within int64" : "an integer");
}

auto Json::as_uint() const -> std::uint64_t {
  if (const auto* value = std::get_if<std::uint64_t>(&value_)) return *value;
  if (const auto* value = std::get_if<std::int64_t>(&value_); value != nullptr && *value >= 0) {
    return static_cast<std::uint64_t>(*value);
  }
  mismatch("a non-negative integer");
}

auto Json::as_double() const -> double {
  if (const auto* value = std::get_if<double>(&value_)) return *value;
  if (const auto* value = std::get_if<std::int64_t>(&value_)) return static_cast<double>(*value);
  if (const auto* value = std::get_if<std::uint64_t>(&value_)) return static_cast<double>(*value);
  mismatch("a number");
}

auto Json::as_string() const -> const std::string& {
  if (const auto* value = std::get_if<std::string>(&value_)) return *value;
  mismatch("a string");
}

auto Json::as_array() const -> const Array& {
  if (const auto* value = std::get_if<Array>(&value_)) return *value;
  mismatch("an array");
}

auto Json::as_object() const -> const Object& {
  if (const auto* value = std::get_if<Object>(&value_)) return *value;
  mismatch("an object");
}

auto Json::find(std::string_view key) const -> const Json* {
  for (const auto& [name, value] : as_object()) {
    if (name == key) return &value;
  }
  return nullptr;
}

auto Json::operator[](std::string_view key) const -> const Json& {
  if (const auto* value = find(key)) return *value;
  throw DecodeError(fmt::format("missing member \"{}\"", key));
}

namespace detail {
void integer_out_of_range(std::string_view type, const Json& json) {
  throw DecodeError(fmt::format("integer {} does not fit {}",
                                json.type() == Json::Type::unsigned_integer ? std::to_string(json.as_uint())
                                                                            : std::to_string(json.as_int()),
                                type));
}
}  // namespace detail

void json_traits<Json>::encode(JsonWriter& out, const Json& value) {
  switch (value.type()) {
    case Json::Type::null:
      out.null();
      break;
    case Json::Type::boolean:
      out.boolean(value.as_bool());
      break;
    case Json::Type::integer:
      out.integer(value.as_int());
      break;
    case Json::Type::unsigned_integer:
      out.unsigned_integer(value.as_uint());
      break;
    case Json::Type::number:
      out.number(value.as_double());
      break;
    case Json::Type::string:
      out.string(value.as_string());
      break;
    case Json::Type::array:
      out.begin_array();
      for (const auto& item : value.as_array()) encode(out, item);
      out.end_array();
      break;
    case Json::Type::object:
      out.begin_object();
      for (const auto& [key, item] : value.as_object()) {
        out.key(key);
        encode(out, item);
      }
      out.end_object();
      break;
  }
}

// --- JsonWriter -----------------------------------------------------------------------------------------

void JsonWriter::separate() {
  if (after_key_) {
    after_key_ = false;
    return;
  }
  if (!first_.empty()) {
    if (!first_.back()) out_ += ',';
    first_.back() = false;
  }
}

void JsonWriter::null() {
  separate();
  out_ += "null";
}

void JsonWriter::boolean(bool value) {
  separate();
  out_ += value ? "true" : "false";
}

void JsonWriter::integer(std::int64_t value) {
  separate();
  out_ += fmt::format_int(value).c_str();
}

void JsonWriter::unsigned_integer(std::uint64_t value) {
  separate();
  out_ += fmt::format_int(value).c_str();
}

void JsonWriter::number(double value) {
  if (!std::isfinite(value)) throw UsageError(fmt::format("{} cannot be written as JSON", value));
  separate();
  out_ += fmt::format("{}", value);
}

void JsonWriter::string(std::string_view value) {
  separate();
  out_ += '"';
  for (char c : value) {
    switch (c) {
      case '"':
        out_ += "\\\"";
        break;
      case '\\':
        out_ += "\\\\";
        break;
      case '\n':
        out_ += "\\n";
        break;
      case '\r':
        out_ += "\\r";
        break;
      case '\t':
        out_ += "\\t";
        break;
      default:
        if (static_cast<unsigned char>(c) < 0x20) {
          out_ += fmt::format("\\u{:04x}", static_cast<unsigned>(c));
        } else {
          out_ += c;
        }
    }
  }
  out_ += '"';
}

void JsonWriter::begin_array() {
  separate();
  out_ += '[';
  first_.push_back(true);
}

void JsonWriter::end_array() {
  out_ += ']';
  first_.pop_back();
}

void JsonWriter::begin_object() {
  separate();
  out_ += '{';
  first_.push_back(true);
}

void JsonWriter::key(std::string_view name) {
  string(name);
  out_ += ':';
  after_key_ = true;
}

void JsonWriter::end_object() {
  out_ += '}';
  first_.pop_back();
}

void JsonWriter::raw(std::string_view json) {
  separate();
  out_ += json;
}

}  // namespace pq
