// Newline-delimited JSON: one job per line, for bulk puts.
#pragma once

#include <cstddef>
#include <iosfwd>
#include <limits>
#include <string>
#include <string_view>
#include <vector>

namespace pq {

/// The documents of NDJSON text, one per line (LF or CRLF), blank lines skipped, each checked with
/// pq::validate_json. `first_line` numbers the text's first line, for input read piece by piece. Throws
/// pq::JsonError "line 17: malformed JSON at offset ..." with the offset within that line.
[[nodiscard]] auto read_ndjson(std::string_view text, std::size_t first_line = 1) -> std::vector<std::string>;

/// Reads NDJSON from a stream a batch at a time, so that input of any length takes bounded memory.
class NdjsonReader {
 public:
  /// A line longer than `max_document` bytes is refused with a pq::UsageError naming it, as soon as that
  /// many bytes were read: memory stays bounded by the limit, however long the line.
  explicit NdjsonReader(std::istream& in, std::size_t batch = 10'000,
                        std::size_t max_document = std::numeric_limits<std::size_t>::max());

  /// Up to `batch` more documents, checked as read_ndjson does; empty at the end of the input.
  auto next() -> std::vector<std::string>;

  /// Lines read so far, blank ones included.
  [[nodiscard]] auto lines() const noexcept -> std::size_t { return lines_; }
  /// Bytes read so far, line ends included.
  [[nodiscard]] auto bytes() const noexcept -> std::size_t { return bytes_; }

 private:
  auto read_line(std::string& line) -> bool;

  std::istream* in_;
  std::size_t batch_;
  std::size_t max_document_;
  std::size_t lines_ = 0;
  std::size_t bytes_ = 0;
};

}  // namespace pq
