// What pq prints, in one place: text made safe for a terminal, the tables people read, the JSON scripts read
// (all written with pq::JsonWriter), and the check that stdout took it all.
#pragma once

#include <chrono>
#include <cstddef>
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "pq/pq.hpp"

namespace pq_cli {

// ---- text ----------------------------------------------------------------------------------------------

/// Text from the database or the user, made safe for a table cell: no control characters, at most `width`
/// characters.
auto cell(std::string_view text, std::size_t width = 60) -> std::string;

/// "1 job", "2 jobs".
auto jobs_count(std::int64_t count) -> std::string;

/// `90s`, `3m12s`, `2h05m`, `3d04h`: two units are enough for a person.
auto human_duration(std::chrono::microseconds duration) -> std::string;

class Table {
 public:
  struct Column {
    std::string header;
    bool numeric = false;  // right-aligned
  };
  explicit Table(std::vector<Column> columns) : columns_(std::move(columns)) {}

  void add(std::vector<std::string> row) { rows_.push_back(std::move(row)); }

  /// The table, with as many columns from the left as fit in `max_width` characters (always the first).
  [[nodiscard]] auto render(std::size_t max_width = std::string::npos) const -> std::string;

 private:
  std::vector<Column> columns_;
  std::vector<std::vector<std::string>> rows_;
};

/// Queues by state; the last column is jobs finished in the last minute, or with `rate_window`, per second
/// over that window.
auto stats_table(const std::vector<pq::QueueStats>& stats, std::optional<std::chrono::microseconds> rate_window)
    -> Table;

/// Every queue that holds jobs or is paused: its pauses (of the queue, of kinds in it) and its jobs by state.
auto queues_table(const std::vector<pq::QueueStats>& stats, const std::vector<pq::Pause>& pauses) -> Table;

/// The jobs as a table, or "no jobs".
auto jobs_text(const std::vector<pq::Job>& jobs) -> std::string;

/// One job, a field a line, then its error history.
auto job_details(const pq::Job& job) -> std::string;

// ---- JSON ----------------------------------------------------------------------------------------------

/// The job as JSON; a leased job's token comes first, next to its id.
auto job_json(const pq::Job& job, const std::optional<std::string>& token = std::nullopt) -> std::string;

/// The jobs as a JSON array.
auto jobs_json(const std::vector<pq::Job>& jobs) -> std::string;

/// The stats as a JSON array, a queue an object.
auto stats_json(const std::vector<pq::QueueStats>& stats) -> std::string;

/// queues_table as a JSON array: a queue an object, with its pauses and counts.
auto queues_json(const std::vector<pq::QueueStats>& stats, const std::vector<pq::Pause>& pauses) -> std::string;

/// A JSON object of a few members on a line of its own: `{"id":42,"outcome":"completed"}`.
class JsonLine {
 public:
  JsonLine() { out_.begin_object(); }

  template <class T>
  auto add(std::string_view key, const T& value) -> JsonLine& {
    out_.key(key);
    pq::encode(out_, value);
    return *this;
  }

  /// Closes the object: its text and the newline.
  auto finish() -> std::string;
  /// Closes the object and prints it.
  void print();

 private:
  pq::JsonWriter out_;
};

// ---- stdout --------------------------------------------------------------------------------------------

/// A failed write to stdout: what the command did is undone where it can be, and pq exits 3.
class OutputError : public pq::Error {
 public:
  using pq::Error::Error;
};

/// Writes out what stdout buffers; throws OutputError when any of the output could not be written (a full
/// disk, a closed descriptor, a reader that went away).
void flush_output();

}  // namespace pq_cli
