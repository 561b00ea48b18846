#include "validate.hpp"

#include <fmt/core.h>
#include <simdjson.h>

#include "pq/error.hpp"
#include "pq/json.hpp"

namespace pq {
namespace {

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
}

}  // namespace

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
