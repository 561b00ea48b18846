// Validation of job data with simdjson's On-Demand parser: every value is visited, so malformed input is
// found before any SQL is sent, with the offset where the parser stopped.
#include <fmt/core.h>
#include <simdjson.h>

#include <algorithm>
#include <new>

#include "pq/error.hpp"
#include "pq/json.hpp"

namespace pq {
namespace {

namespace od = simdjson::ondemand;

// jsonb cannot hold U+0000 (PostgreSQL rejects "\u0000"), so a string that unescapes to one is refused.
constexpr simdjson::error_code kNulInString = simdjson::NUM_ERROR_CODES;

auto check_string(std::string_view text) -> simdjson::error_code {
  return text.find('\0') == std::string_view::npos ? simdjson::SUCCESS : kNulInString;
}

// simdjson reports NUMBER_ERROR both for malformed numbers and for numbers wider than a double or a 64-bit
// integer; jsonb stores numbers as numeric, so only the JSON grammar decides.
auto is_json_number(std::string_view token) -> bool {
  while (!token.empty() && (token.back() == ' ' || token.back() == '\t' || token.back() == '\n' ||
                            token.back() == '\r')) {
    token.remove_suffix(1);
  }
  std::size_t at = 0;
  auto digits = [&] {
    std::size_t start = at;
    while (at < token.size() && token[at] >= '0' && token[at] <= '9') ++at;
    return at - start;
  };
  if (at < token.size() && token[at] == '-') ++at;
  if (at < token.size() && token[at] == '0') {
    ++at;
  } else if (digits() == 0) {
    return false;
  }
  if (at < token.size() && token[at] == '.') {
    ++at;
    if (digits() == 0) return false;
  }
  if (at < token.size() && (token[at] == 'e' || token[at] == 'E')) {
    ++at;
    if (at < token.size() && (token[at] == '+' || token[at] == '-')) ++at;
    if (digits() == 0) return false;
  }
  return at == token.size();
}

auto check_number(std::string_view token) -> simdjson::error_code {
  return is_json_number(token) ? simdjson::SUCCESS : simdjson::NUMBER_ERROR;
}

// Nesting beyond this is refused: the walk recurses once per level, so an unbounded depth would let a small
// payload ("[[[[...") overflow the stack. And `pq jobs --json` puts every job two levels deeper (an array of
// objects), which must stay under the recursion limit of consumers such as Python's json module.
constexpr std::size_t kMaxDepth = kMaxJsonDepth;

// `depth` counts the root as 1 and every value inside as one more than its container, as simdjson does.
auto walk(od::value value, std::size_t depth) -> simdjson::error_code {
  if (depth > kMaxDepth) return simdjson::DEPTH_ERROR;
  od::json_type type{};
  if (auto error = value.type().get(type)) return error;
  switch (type) {
    case od::json_type::array: {
      od::array array;
      if (auto error = value.get_array().get(array)) return error;
      for (auto element : array) {
        od::value item;
        if (auto error = element.get(item)) return error;
        if (auto error = walk(item, depth + 1)) return error;
      }
      return simdjson::SUCCESS;
    }
    case od::json_type::object: {
      od::object object;
      if (auto error = value.get_object().get(object)) return error;
      for (auto field : object) {
        std::string_view key;
        if (auto error = field.unescaped_key().get(key)) return error;
        if (auto error = check_string(key)) return error;
        if (auto error = walk(field.value(), depth + 1)) return error;
      }
      return simdjson::SUCCESS;
    }
    case od::json_type::string: {
      std::string_view text;
      if (auto error = value.get_string().get(text)) return error;
      return check_string(text);
    }
    case od::json_type::number:
      return check_number(value.raw_json_token());
    case od::json_type::boolean:
      return value.get_bool().error();
    case od::json_type::null: {
      bool is_null = false;
      if (auto error = value.is_null().get(is_null)) return error;
      return is_null ? simdjson::SUCCESS : simdjson::N_ATOM_ERROR;
    }
  }
  return simdjson::INCORRECT_TYPE;
}

auto is_blank(std::string_view text) -> bool {
  return text.find_first_not_of(" \t\n\r") == std::string_view::npos;
}

auto walk_document(od::document& document, std::string_view input) -> simdjson::error_code {
  od::json_type type{};
  if (auto error = document.type().get(type)) return error;
  simdjson::error_code error = simdjson::SUCCESS;
  switch (type) {
    case od::json_type::array:
    case od::json_type::object: {
      od::value root;
      error = document.get_value().get(root);
      if (!error) error = walk(root, 1);
      break;
    }
    case od::json_type::string: {
      std::string_view text;
      error = document.get_string().get(text);
      if (!error) error = check_string(text);
      break;
    }
    case od::json_type::number: {
      // A root number is never consumed by the grammar check, so trailing content is checked here.
      std::string_view token;
      error = document.raw_json_token().get(token);
      if (!error) error = check_number(token);
      if (!error && !is_blank(input.substr(static_cast<std::size_t>(token.data() - input.data()) + token.size()))) {
        error = simdjson::TRAILING_CONTENT;
      }
      return error;
    }
    case od::json_type::boolean:
      error = document.get_bool().error();
      break;
    case od::json_type::null: {
      bool is_null = false;
      error = document.is_null().get(is_null);
      if (!error && !is_null) error = simdjson::N_ATOM_ERROR;
      break;
    }
  }
  // Only a fully consumed document has no current location left.
  const char* rest = nullptr;
  if (!error && document.current_location().get(rest) == simdjson::SUCCESS) error = simdjson::TRAILING_CONTENT;
  return error;
}

// simdjson's stage 1 reports bad UTF-8 without a position; find the first bad sequence for the message.
auto first_invalid_utf8(std::string_view text) -> std::size_t {
  for (std::size_t at = 0; at < text.size();) {
    auto byte = static_cast<unsigned char>(text[at]);
    std::size_t length = byte < 0x80 ? 1 : (byte >> 5U) == 0x6 ? 2 : (byte >> 4U) == 0xE ? 3 : (byte >> 3U) == 0x1E ? 4 : 0;
    if (length == 0 || at + length > text.size()) return at;
    if (!simdjson::validate_utf8(text.data() + at, length)) return at;
    at += length;
  }
  return text.size();
}

[[noreturn]] void fail(std::string_view text, std::size_t offset, std::string_view what) {
  offset = std::min(offset, text.size());
  auto before = text.substr(0, offset);
  auto line = 1 + std::count(before.begin(), before.end(), '\n');
  auto line_start = before.rfind('\n');
  auto column = offset - (line_start == std::string_view::npos ? 0 : line_start + 1) + 1;
  // The text may be anything (a file given by mistake): printable ASCII is shown, every other byte escaped,
  // so that neither control characters nor broken UTF-8 reach the terminal.
  auto near = text.substr(offset, 16);
  std::string shown;
  for (char c : near) {
    const auto byte = static_cast<unsigned char>(c);
    shown += byte >= 0x20 && byte < 0x7f && c != '\'' && c != '\\' ? std::string(1, c) : fmt::format("\\x{:02x}", byte);
  }
  throw JsonError(fmt::format("malformed JSON at offset {} (line {}, column {}): {}{}", offset, line, column,
                              what, near.empty() ? " at the end of the input" : fmt::format(" near '{}'", shown)),
                  offset);
}

}  // namespace

void validate_json(std::string_view text) {
  if (auto nul = text.find('\0'); nul != std::string_view::npos) fail(text, nul, "NUL byte in the text");
  if (!simdjson::validate_utf8(text.data(), text.size())) {
    fail(text, first_invalid_utf8(text), "invalid UTF-8");
  }
  // One level of room beyond kMaxDepth: the walk refuses a document one level past the limit before
  // descending into it, and simdjson's development checks (builds without optimisation) assert that every
  // level it enters is below its own maximum.
  thread_local od::parser parser = [] {
    od::parser fresh;
    if (fresh.allocate(4096, kMaxDepth + 1) != simdjson::SUCCESS) throw std::bad_alloc();
    return fresh;
  }();
  // simdjson's on-demand parser refuses a root true followed by three or more bytes of whitespace, or false by
  // two ("not the requested type"); whitespace after the value means nothing in JSON, so it is cut first.
  const auto last = text.find_last_not_of(" \t\n\r");
  simdjson::padded_string padded(text.substr(0, last == std::string_view::npos ? 0 : last + 1));
  od::document document;
  auto error = parser.iterate(padded).get(document);
  const bool started = !error;
  if (started) error = walk_document(document, std::string_view(padded.data(), padded.size()));
  if (!error) return;
  std::size_t offset = text.size();
  const char* location = nullptr;
  if (started && document.current_location().get(location) == simdjson::SUCCESS && location != nullptr) {
    offset = static_cast<std::size_t>(location - padded.data());
  }
  if (error == kNulInString) fail(text, offset, "\\u0000 is not allowed in a string (jsonb cannot store it)");
  if (error == simdjson::EMPTY) fail(text, 0, "empty document");
  if (error == simdjson::DEPTH_ERROR) {
    fail(text, offset, fmt::format("arrays and objects nested deeper than {} levels", kMaxDepth));
  }
  fail(text, offset, simdjson::error_message(error));
}

}  // namespace pq
