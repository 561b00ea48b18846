#include "pq/ndjson.hpp"

#include <fmt/core.h>

#include <istream>

#include "pq/error.hpp"
#include "pq/json.hpp"

namespace pq {
namespace {

auto too_long(std::size_t number, std::size_t max_document) -> UsageError {
  return UsageError(fmt::format("line {} is longer than {} bytes, the limit for one job", number, max_document));
}

// Appends line `number` to `out` unless it is blank; offsets in messages count from the line's start.
void add_line(std::string_view line, std::size_t number, std::size_t max_document, std::vector<std::string>& out) {
  if (line.ends_with('\r')) line.remove_suffix(1);
  if (line.find_first_not_of(" \t\r") == std::string_view::npos) return;
  if (line.size() > max_document) throw too_long(number, max_document);
  try {
    validate_json(line);
  } catch (const JsonError& error) {
    // The line and column within a one-line document say nothing the offset does not.
    std::string message = error.what();
    if (auto at = message.find(" (line 1, column "); at != std::string::npos) {
      message.erase(at, message.find(')', at) + 1 - at);
    }
    throw JsonError(fmt::format("line {}: {}", number, message), error.offset());
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
  while (documents.size() < batch_ && read_line(line)) add_line(line, lines_, max_document_, documents);
  if (in_->bad()) throw Error(fmt::format("cannot read line {} of the input", lines_ + 1));
  return documents;
}

// Unlike std::getline, gives up on a line as soon as it is too long, so that one huge line costs no more
// memory than the limit.
auto NdjsonReader::read_line(std::string& line) -> bool {
  line.clear();
  auto* buffer = in_->rdbuf();
  if (buffer == nullptr || !in_->good()) return false;
  using traits = std::istream::traits_type;
  bool any = false;
  try {
    for (auto c = buffer->sbumpc(); !traits::eq_int_type(c, traits::eof()); c = buffer->sbumpc()) {
      any = true;
      ++bytes_;
      if (traits::to_char_type(c) == '\n') break;
      line.push_back(traits::to_char_type(c));
      // One byte more may be the CR of a CRLF, which add_line drops.
      if (line.size() > max_document_ && (line.size() - max_document_ > 1 || line.back() != '\r')) {
        throw too_long(lines_ + 1, max_document_);
      }
    }
  } catch (const UsageError&) {
    throw;
  } catch (const std::exception&) {  // a stream buffer's own read error
    in_->setstate(std::ios::badbit);
    return false;
  }
  if (!any) {
    in_->setstate(std::ios::eofbit);
    return false;
  }
  ++lines_;
  return true;
}

}  // namespace pq
