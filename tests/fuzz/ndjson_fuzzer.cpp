// libFuzzer target for the NDJSON reader behind `pq put --ndjson`: whatever the bytes, read_ndjson either
// returns documents that each pass validate_json, no more than there are lines, or throws a pq error; and
// reading the same text as a stream, in small batches, gives the same documents or the same refusal.
#include <cstdint>
#include <optional>
#include <sstream>
#include <string>
#include <string_view>
#include <vector>

#include "pq/pq.hpp"

namespace {

[[noreturn]] void broken(const char* invariant) {
  __builtin_trap();  // libFuzzer keeps the input that got here
  (void)invariant;
}

auto whole(std::string_view text) -> std::optional<std::vector<std::string>> {
  try {
    return pq::read_ndjson(text);
  } catch (const pq::Error&) {
    return std::nullopt;
  }
}

auto streamed(std::string_view text) -> std::optional<std::vector<std::string>> {
  std::istringstream in{std::string(text)};
  pq::NdjsonReader reader(in, 3);
  std::vector<std::string> documents;
  try {
    for (auto batch = reader.next(); !batch.empty(); batch = reader.next()) {
      documents.insert(documents.end(), batch.begin(), batch.end());
    }
  } catch (const pq::Error&) {
    return std::nullopt;
  }
  return documents;
}

}  // namespace

extern "C" auto LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) -> int {
  const std::string_view text(reinterpret_cast<const char*>(data), size);
  auto documents = whole(text);
  if (documents) {
    std::size_t lines = 1;
    for (char c : text) lines += c == '\n' ? 1 : 0;
    if (documents->size() > lines) broken("more documents than lines");
    for (const auto& document : *documents) {
      try {
        pq::validate_json(document);
      } catch (const pq::JsonError&) {
        broken("read_ndjson returned a document that validate_json refuses");
      }
    }
  }
  if (streamed(text) != documents) broken("the stream reader and read_ndjson disagree");
  return 0;
}
