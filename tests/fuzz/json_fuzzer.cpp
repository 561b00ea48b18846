// libFuzzer target for the JSON that job data and task arguments go through: pq::validate_json (the gate
// before any SQL), pq::Json::parse, the task-argument decoder and json_traits. Whatever the bytes, each
// either succeeds or throws its documented pq error; the two parsers agree on what is JSON; and what
// parses re-encodes to valid JSON that parses back to the same value.
#include <algorithm>
#include <cstdint>
#include <cstdlib>
#include <map>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "pq/pq.hpp"

namespace {

[[noreturn]] void broken(const char* invariant) {
  __builtin_trap();  // libFuzzer keeps the input that got here
  (void)invariant;
}

template <class T>
void try_decode(const pq::Json& json) {
  try {
    (void)pq::decode<T>(json);
  } catch (const pq::DecodeError&) {  // a mismatch is reported, never anything else
  }
}

auto encode(const pq::Json& json) -> std::string {
  pq::JsonWriter out;
  pq::encode(out, json);
  return out.take();
}

// The same value: numbers by value (JSON has one number type, and -0 reads back as 0, as in jsonb),
// everything else exactly, members in order.
auto same(const pq::Json& a, const pq::Json& b) -> bool {
  using Type = pq::Json::Type;
  auto number = [](Type type) { return type == Type::integer || type == Type::unsigned_integer || type == Type::number; };
  if (number(a.type()) && number(b.type())) {
    if (a.type() == Type::number || b.type() == Type::number) return a.as_double() == b.as_double();
    return a.type() == b.type() && (a.type() == Type::integer ? a.as_int() == b.as_int() : a.as_uint() == b.as_uint());
  }
  if (a.type() != b.type()) return false;
  switch (a.type()) {
    case Type::null:
      return true;
    case Type::boolean:
      return a.as_bool() == b.as_bool();
    case Type::string:
      return a.as_string() == b.as_string();
    case Type::array:
      return std::equal(a.as_array().begin(), a.as_array().end(), b.as_array().begin(), b.as_array().end(), same);
    default:
      return std::equal(a.as_object().begin(), a.as_object().end(), b.as_object().begin(), b.as_object().end(),
                        [](const auto& x, const auto& y) { return x.first == y.first && same(x.second, y.second); });
  }
}

// jsonb cannot store U+0000, so validate_json refuses it where simdjson's parser does not.
auto holds_nul(std::string_view text) -> bool {
  return text.find('\0') != std::string_view::npos || text.find("\\u0000") != std::string_view::npos;
}

}  // namespace

extern "C" auto LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) -> int {
  const std::string_view text(reinterpret_cast<const char*>(data), size);
  bool valid = true;
  try {
    pq::validate_json(text);
  } catch (const pq::JsonError&) {
    valid = false;
  }
  std::optional<pq::Json> tree;
  try {
    tree = pq::Json::parse(text);
  } catch (const pq::JsonError&) {
    if (valid) broken("validate_json accepted what Json::parse calls malformed");
  } catch (const pq::DecodeError&) {  // valid JSON beyond what the tree holds (a number wider than 64 bits)
  }
  if (tree && !valid && !holds_nul(text)) broken("Json::parse accepted what validate_json refuses");

  // The task-argument path: {"args":[...]} checked against an arity, then each argument decoded.
  pq::Job job;
  job.data = std::string(text);
  try {
    auto args = pq::detail::job_args(job, "fuzz", 2);
    try_decode<std::string>(args.as_array().at(0));
    try_decode<std::vector<std::int32_t>>(args.as_array().at(1));
  } catch (const pq::Error&) {
  }
  if (!tree) return 0;
  try_decode<bool>(*tree);
  try_decode<std::int16_t>(*tree);
  try_decode<std::int64_t>(*tree);
  try_decode<std::uint8_t>(*tree);
  try_decode<std::uint64_t>(*tree);
  try_decode<double>(*tree);
  try_decode<float>(*tree);
  try_decode<std::string>(*tree);
  try_decode<std::optional<int>>(*tree);
  try_decode<std::vector<std::vector<std::string>>>(*tree);
  try_decode<std::map<std::string, std::optional<double>>>(*tree);
  try_decode<std::map<std::string, std::vector<pq::Json>>>(*tree);

  if (!valid) return 0;
  const auto once = encode(*tree);
  try {
    pq::validate_json(once);
  } catch (const pq::JsonError&) {
    broken("the encoding of valid JSON is not valid JSON");
  }
  if (!same(pq::Json::parse(once), *tree)) broken("the encoding does not parse back to the same value");
  return 0;
}
