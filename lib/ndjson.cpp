#include "pq/ndjson.hpp"

#include <fmt/core.h>

#include <istream>

#include "pq/error.hpp"
#include "pq/json.hpp"

namespace pq {
namespace {

// Appends line `number` to `out` unless it is blank; offsets in messages count from the line's start.
void add_line(std::string_view line, std::size_t number, std::size_t max_document, std::vector<std::string>& out) {
  if (line.ends_with('\r')) line.remove_suffix(1);
  if (line.find_first_not_of(" \t\r") == std::string_view::npos) return;
  if (line.size() > max_document) {
    throw UsageError(fmt::format("line {}: {} bytes; the limit for one job is {}", number, line.size(), max_document));
  }
  try {
    validate_json(line);
  } catch (const JsonError& error) {
    throw JsonError(fmt::format("line {}: {}", number, error.what()), error.offset());
  }
  out.emplace_back(line);
}

}  // namespace

auto read_ndjson(std::string_view text, std::size_t first_line) -> std::vector<std::string> {
  std::vector<std::string> documents;
  for (std::size_t number = first_line; !text.empty(); ++number) {
    const auto end = text.find('\n');
    add_line(text.substr(0, end), number, std::numeric_limits<std::size_t>::max(), documents);
    text.remove_prefix(end == std::string_view::npos ? text.size() : end + 1);
  }
  return documents;
}

NdjsonReader::NdjsonReader(std::istream& in, std::size_t batch, std::size_t max_document)
    : in_(&in), batch_(batch < 1 ? 1 : batch), max_document_(max_document) {}

auto NdjsonReader::next() -> std::vector<std::string> {
  std::vector<std::string> documents;
  std::string line;
  while (documents.size() < batch_ && std::getline(*in_, line)) {
    ++lines_;
    bytes_ += line.size() + (in_->eof() ? 0 : 1);
    add_line(line, lines_, max_document_, documents);
  }
  if (in_->bad()) throw Error(fmt::format("cannot read line {} of the input", lines_ + 1));
  return documents;
}

}  // namespace pq
