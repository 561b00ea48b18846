#include "common/validate.hpp"

#include <fmt/core.h>
#include <simdjson.h>

#include "pq/error.hpp"
#include "pq/json.hpp"

namespace pq {
namespace {

// Length of the well-formed UTF-8 sequence `text` starts with, or 0 if it starts with none: no overlong
// forms, no surrogates, nothing above U+10FFFF (the Unicode standard's table of well-formed sequences).
auto utf8_sequence(std::string_view text) -> std::size_t {
  auto byte = [&](std::size_t i) { return static_cast<unsigned char>(text[i]); };
  const unsigned char lead = byte(0);
  if (lead < 0x80) return 1;
  std::size_t length = 0;
  unsigned char low = 0x80;
  unsigned char high = 0xbf;
  if (lead >= 0xc2 && lead <= 0xdf) {
    length = 2;
  } else if (lead >= 0xe0 && lead <= 0xef) {
    length = 3;
    if (lead == 0xe0) low = 0xa0;
    if (lead == 0xed) high = 0x9f;
  } else if (lead >= 0xf0 && lead <= 0xf4) {
    length = 4;
    if (lead == 0xf0) low = 0x90;
    if (lead == 0xf4) high = 0x8f;
  } else {
    return 0;
  }
  if (text.size() < length || byte(1) < low || byte(1) > high) return 0;
  for (std::size_t i = 2; i < length; ++i) {
    if (byte(i) < 0x80 || byte(i) > 0xbf) return 0;
  }
  return length;
}

void append_byte_escape(std::string& out, unsigned char byte) { out += fmt::format("\\x{:02x}", byte); }

// Names travel as text parameters, which libpq sends as C strings: a NUL would cut them short.
void validate_name(std::string_view what, std::string_view name, std::size_t max_bytes) {
  if (name.empty()) throw UsageError(fmt::format("{} name is empty", what));
  if (name.size() > max_bytes) {
    throw UsageError(fmt::format("{} name is {} bytes long; the limit is {}", what, name.size(), max_bytes));
  }
  if (name.find('\0') != std::string_view::npos) {
    throw UsageError(fmt::format("{} name contains a NUL byte", what));
  }
  if (!simdjson::validate_utf8(name.data(), name.size())) {
    throw UsageError(fmt::format("{} name is not valid UTF-8", what));
  }
  // Names are printed in logs and tables: a newline would forge log entries, an ESC drive the terminal.
  for (std::size_t at = 0; at < name.size(); ++at) {
    const auto byte = static_cast<unsigned char>(name[at]);
    const bool c1 = byte == 0xc2 && at + 1 < name.size() && static_cast<unsigned char>(name[at + 1]) < 0xa0;
    if (byte < 0x20 || byte == 0x7f || c1) {
      throw UsageError(fmt::format("{} name contains the control character {} at byte {}", what,
                                   log_safe(name.substr(at, c1 ? 2 : 1)), at));
    }
  }
}

}  // namespace

auto storable_text(std::string_view bytes) -> std::string {
  if (bytes.find('\0') == std::string_view::npos && simdjson::validate_utf8(bytes.data(), bytes.size())) {
    return std::string(bytes);
  }
  std::string out;
  out.reserve(bytes.size() + 16);
  for (std::size_t at = 0; at < bytes.size();) {
    const std::size_t length = bytes[at] == '\0' ? 0 : utf8_sequence(bytes.substr(at));
    if (length == 0) {
      append_byte_escape(out, static_cast<unsigned char>(bytes[at]));
      ++at;
    } else {
      out.append(bytes, at, length);
      at += length;
    }
  }
  return out;
}

auto log_safe(std::string_view text) -> std::string {
  std::string out;
  out.reserve(text.size());
  for (std::size_t at = 0; at < text.size();) {
    const std::size_t length = utf8_sequence(text.substr(at));
    const auto lead = static_cast<unsigned char>(text[at]);
    if (length == 0) {
      append_byte_escape(out, lead);
      ++at;
      continue;
    }
    const std::string_view sequence = text.substr(at, length);
    at += length;
    if (length == 1 && (lead < 0x20 || lead == 0x7f)) {
      switch (lead) {
        case '\n': out += "\\n"; break;
        case '\r': out += "\\r"; break;
        case '\t': out += "\\t"; break;
        default: append_byte_escape(out, lead);
      }
    } else if (length == 2 && lead == 0xc2 && static_cast<unsigned char>(sequence[1]) < 0xa0) {
      out += fmt::format("\\u{:04x}", static_cast<unsigned char>(sequence[1]));  // C1: U+0080..U+009F
    } else if (sequence == "\u2028" || sequence == "\u2029") {
      out += sequence == "\u2028" ? "\\u2028" : "\\u2029";
    } else {
      out += sequence;
    }
  }
  return out;
}

void validate_queue_name(std::string_view name) { validate_name("queue", name, kMaxQueueName); }

void validate_schema_name(std::string_view name) { validate_name("schema", name, kMaxSchemaName); }

void validate_put_options(const PutOptions& options) {
  if (options.priority < kMinPriority || options.priority > kMaxPriority) {
    throw UsageError(fmt::format("priority {} is out of range [{}, {}]", options.priority, kMinPriority,
                                 kMaxPriority));
  }
  if (options.max_attempts < 1) {
    throw UsageError(fmt::format("max_attempts is {}; a job needs at least 1 attempt", options.max_attempts));
  }
  if (!options.kind.empty()) validate_name("kind", options.kind, kMaxKind);
}

void validate_payload(std::string_view json, std::size_t max_payload) {
  if (json.size() > max_payload) {
    throw UsageError(fmt::format("job data is {} bytes; the limit is {} (ConnectionOptions::max_payload)",
                                 json.size(), max_payload));
  }
  validate_json(json);
}

}  // namespace pq
