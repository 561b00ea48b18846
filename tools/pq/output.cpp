// Tables and JSON for every command. Times are shown as pq::format_time writes them, everywhere.
#include "output.hpp"

#include <fmt/core.h>

#include <algorithm>
#include <cerrno>
#include <cstdio>
#include <cstring>
#include <iterator>
#include <utility>

namespace pq_cli {

using namespace std::chrono_literals;
using std::chrono::microseconds;

namespace {

/// Characters on screen, counting each UTF-8 sequence once.
auto display_width(std::string_view text) -> std::size_t {
  return static_cast<std::size_t>(
      std::count_if(text.begin(), text.end(), [](char c) { return (static_cast<unsigned char>(c) & 0xC0U) != 0x80U; }));
}

/// A time relative to this machine's clock: `3m12s ago`, `in 2h05m`. Good enough for display only.
auto relative(pq::TimePoint time) -> std::string {
  const auto age = std::chrono::duration_cast<microseconds>(pq::Clock::now() - time);
  const auto magnitude = age >= 0us ? age : -age;
  // Under a second, whole seconds would say "in 0s" for a job due in 0.8 s.
  const auto text = magnitude < 1s ? fmt::format("{:.1f}s", std::chrono::duration<double>(magnitude).count())
                                   : human_duration(magnitude);
  return age >= 0us ? text + " ago" : "in " + text;
}

/// A time as pq shows it everywhere: UTC, `2026-12-01T10:00:00.000000Z`. Text that is no time (an error
/// entry written by hand) is shown as it is, made safe.
auto shown_time(std::string_view text) -> std::string {
  try {
    if (auto at = pq::parse_when(text).at()) return pq::format_time(pq::TimePoint{*at});
  } catch (const pq::UsageError&) {
  }
  return cell(text, 40);
}

template <class T>
void member(pq::JsonWriter& out, std::string_view key, const T& value) {
  out.key(key);
  pq::encode(out, value);
}

void write_counts(pq::JsonWriter& out, const pq::QueueStats& q) {
  const std::pair<std::string_view, std::int64_t> counts[] = {
      {"scheduled", q.scheduled}, {"available", q.available}, {"running", q.running},
      {"completed", q.completed}, {"failed", q.failed},       {"cancelled", q.cancelled}};
  for (const auto& [key, count] : counts) member(out, key, count);
}

void write_job(pq::JsonWriter& out, const pq::Job& job, const std::optional<std::string>& token) {
  out.begin_object();
  member(out, "id", job.id);
  if (token) member(out, "token", *token);
  member(out, "queue", job.queue);
  member(out, "kind", job.kind);
  member(out, "state", pq::to_string(job.state));
  member(out, "priority", job.priority);
  member(out, "attempt", job.attempt);
  member(out, "max_attempts", job.max_attempts);
  const std::pair<std::string_view, std::optional<pq::TimePoint>> times[] = {
      {"enqueued_at", job.enqueued_at},   {"schedule_at", job.schedule_at}, {"expected_at", job.expected_at},
      {"attempted_at", job.attempted_at}, {"lease_until", job.lease_until}, {"finished_at", job.finished_at}};
  for (const auto& [key, time] : times) {
    out.key(key);
    if (time) {
      out.string(pq::format_time(*time));
    } else {
      out.null();
    }
  }
  member(out, "locked_by", job.locked_by);
  member(out, "cancel_requested", job.cancel_requested);
  // Both are jsonb from the database: valid JSON already.
  out.key("data");
  out.raw(job.data);
  out.key("errors");
  out.raw(job.errors);
  out.end_object();
}

}  // namespace

// ---- text ----------------------------------------------------------------------------------------------

auto cell(std::string_view text, std::size_t width) -> std::string {
  std::string out;
  std::size_t chars = 0;
  for (std::size_t at = 0; at < text.size(); ++at) {
    auto byte = static_cast<unsigned char>(text[at]);
    if ((byte & 0xC0U) != 0x80U && ++chars > width) {
      out += "…";
      break;
    }
    out += byte < 0x20 || byte == 0x7f ? '?' : text[at];
  }
  return out;
}

auto jobs_count(std::int64_t count) -> std::string {
  return fmt::format("{} job{}", count, count == 1 ? "" : "s");
}

auto human_duration(microseconds duration) -> std::string {
  const auto s = std::chrono::duration_cast<std::chrono::seconds>(duration).count();
  if (s >= 1000LL * 86400) return ">999d";  // a job put for 1970, say: the exact figure helps nobody
  if (s < 60) return fmt::format("{}s", s);
  if (s < 3600) return fmt::format("{}m{:02}s", s / 60, s % 60);
  if (s < 86400) return fmt::format("{}h{:02}m", s / 3600, s % 3600 / 60);
  return fmt::format("{}d{:02}h", s / 86400, s % 86400 / 3600);
}

auto Table::render(std::size_t max_width) const -> std::string {
  std::vector<std::size_t> widths;
  for (const auto& column : columns_) widths.push_back(display_width(column.header));
  for (const auto& row : rows_) {
    for (std::size_t i = 0; i < row.size(); ++i) widths[i] = std::max(widths[i], display_width(row[i]));
  }
  std::size_t shown = 1;
  for (std::size_t used = widths[0]; shown < widths.size() && used + 2 + widths[shown] <= max_width; ++shown) {
    used += 2 + widths[shown];
  }
  std::string out;
  auto line = [&](auto&& text_of) {
    std::string text;
    for (std::size_t i = 0; i < shown; ++i) {
      const std::string& value = text_of(i);
      const std::string padding(widths[i] - display_width(value), ' ');
      if (i > 0) text += "  ";
      text += columns_[i].numeric ? padding + value : value + padding;
    }
    while (text.ends_with(' ')) text.pop_back();
    out += text + '\n';
  };
  line([&](std::size_t i) -> const std::string& { return columns_[i].header; });
  for (const auto& row : rows_) line([&](std::size_t i) -> const std::string& { return row[i]; });
  return out;
}

auto stats_table(const std::vector<pq::QueueStats>& stats, std::optional<microseconds> rate_window) -> Table {
  std::vector<Table::Column> columns{{"QUEUE"},          {"SCHEDULED", true}, {"AVAILABLE", true},
                                     {"RUNNING", true},  {"COMPLETED", true}, {"FAILED", true},
                                     {"CANCELLED", true}, {"OLDEST", true}};
  columns.push_back(rate_window ? Table::Column{"FINISHED/S", true} : Table::Column{"FINISHED/MIN", true});
  Table table(std::move(columns));
  for (const auto& q : stats) {
    std::string finished = std::to_string(q.finished);
    if (rate_window) {
      const auto seconds = std::chrono::duration<double>(*rate_window).count();
      finished = fmt::format("{:.1f}", seconds > 0 ? static_cast<double>(q.finished) / seconds : 0.0);
    }
    table.add({cell(q.queue, 40), std::to_string(q.scheduled), std::to_string(q.available), std::to_string(q.running),
               std::to_string(q.completed), std::to_string(q.failed), std::to_string(q.cancelled),
               q.oldest_available ? human_duration(*q.oldest_available) : "-", finished});
  }
  return table;
}

namespace {

/// The queues that hold jobs or are paused, in name order, each with its stats (zero when it holds none).
auto queue_rows(const std::vector<pq::QueueStats>& stats, const std::vector<pq::Pause>& pauses)
    -> std::vector<pq::QueueStats> {
  auto rows = stats;
  for (const auto& pause : pauses) {
    if (std::none_of(rows.begin(), rows.end(), [&](const auto& q) { return q.queue == pause.queue; })) {
      rows.push_back({.queue = pause.queue});
    }
  }
  std::sort(rows.begin(), rows.end(), [](const auto& a, const auto& b) { return a.queue < b.queue; });
  return rows;
}

auto pauses_of(const std::vector<pq::Pause>& pauses, std::string_view queue) -> std::vector<pq::Pause> {
  std::vector<pq::Pause> of;
  std::copy_if(pauses.begin(), pauses.end(), std::back_inserter(of), [&](const auto& p) { return p.queue == queue; });
  return of;
}

}  // namespace

auto queues_table(const std::vector<pq::QueueStats>& stats, const std::vector<pq::Pause>& pauses) -> Table {
  Table table({{"QUEUE"}, {"PAUSED"}, {"UNTIL"}, {"REASON"}, {"SCHEDULED", true}, {"AVAILABLE", true},
               {"RUNNING", true}, {"FAILED", true}, {"OLDEST", true}});
  for (const auto& q : queue_rows(stats, pauses)) {
    std::string paused = "-", until = "-", reason;
    for (const auto& pause : pauses_of(pauses, q.queue)) {
      const auto scope = pause.kind.empty() ? std::string("queue") : "kind " + cell(pause.kind, 20);
      paused = paused == "-" ? scope : paused + ", " + scope;
      // The whole queue's pause is the one that says when the queue runs again; else the first kind's.
      if (until == "-" || pause.kind.empty()) until = pause.until ? relative(*pause.until) : "resumed by hand";
      if (reason.empty() || pause.kind.empty()) reason = cell(pause.reason, 30);
    }
    table.add({cell(q.queue, 40), paused, until, reason, std::to_string(q.scheduled), std::to_string(q.available),
               std::to_string(q.running), std::to_string(q.failed),
               q.oldest_available ? human_duration(*q.oldest_available) : "-"});
  }
  return table;
}

auto queues_json(const std::vector<pq::QueueStats>& stats, const std::vector<pq::Pause>& pauses) -> std::string {
  pq::JsonWriter out;
  out.begin_array();
  for (const auto& q : queue_rows(stats, pauses)) {
    out.begin_object();
    member(out, "queue", q.queue);
    const auto own = pauses_of(pauses, q.queue);
    member(out, "paused", std::any_of(own.begin(), own.end(), [](const auto& p) { return p.kind.empty(); }));
    out.key("pauses");
    out.begin_array();
    for (const auto& pause : own) {
      out.begin_object();
      member(out, "kind", pause.kind);
      out.key("until");
      if (pause.until) {
        out.string(pq::format_time(*pause.until));
      } else {
        out.null();
      }
      member(out, "reason", pause.reason);
      member(out, "paused_by", pause.paused_by);
      member(out, "created_at", pq::format_time(pause.created_at));
      out.end_object();
    }
    out.end_array();
    write_counts(out, q);
    out.end_object();
  }
  out.end_array();
  return out.take();
}

auto jobs_text(const std::vector<pq::Job>& jobs) -> std::string {
  if (jobs.empty()) return "no jobs\n";
  Table table({{"ID", true}, {"QUEUE"}, {"KIND"}, {"STATE"}, {"PRI", true}, {"TRIES", true}, {"ENQUEUED"}, {"DATA"}});
  for (const auto& job : jobs) {
    table.add({std::to_string(job.id), cell(job.queue, 30), cell(job.kind, 20), std::string(pq::to_string(job.state)),
               std::to_string(job.priority), fmt::format("{}/{}", job.attempt, job.max_attempts),
               relative(job.enqueued_at), cell(job.data, 50)});
  }
  return table.render();
}

auto job_details(const pq::Job& job) -> std::string {
  auto time = [](const std::optional<pq::TimePoint>& t) {
    return t ? fmt::format("{} ({})", pq::format_time(*t), relative(*t)) : std::string("-");
  };
  std::string out;
  auto field = [&](std::string_view name, const std::string& value) {
    auto line = fmt::format("{:<17}{}", name, value);
    while (line.ends_with(' ')) line.pop_back();
    out += line + '\n';
  };
  field("id", std::to_string(job.id));
  field("queue", cell(job.queue, 200));
  field("kind", job.kind.empty() ? "-" : cell(job.kind, 200));
  field("state", fmt::format("{}{}", pq::to_string(job.state), job.cancel_requested ? " (cancel requested)" : ""));
  field("priority", std::to_string(job.priority));
  field("attempt", fmt::format("{} of {}", job.attempt, job.max_attempts));
  field("enqueued_at", time(job.enqueued_at));
  field("schedule_at", time(job.schedule_at));
  field("expected_at", time(job.expected_at));
  field("attempted_at", time(job.attempted_at));
  field("lease_until", time(job.lease_until));
  field("locked_by", job.locked_by ? cell(*job.locked_by, 200) : "-");
  field("finished_at", time(job.finished_at));
  field("data", job.data);
  const auto history = pq::error_history(job);
  field("errors", history.empty() ? "-" : "");
  for (const auto& error : history) {
    out += fmt::format("  attempt {}{}: {}\n", error.attempt, error.at.empty() ? "" : " at " + shown_time(error.at),
                       cell(error.error, 500));
  }
  return out;
}

// ---- JSON ----------------------------------------------------------------------------------------------

auto job_json(const pq::Job& job, const std::optional<std::string>& token) -> std::string {
  pq::JsonWriter out;
  write_job(out, job, token);
  return out.take();
}

auto jobs_json(const std::vector<pq::Job>& jobs) -> std::string {
  pq::JsonWriter out;
  out.begin_array();
  for (const auto& job : jobs) write_job(out, job, std::nullopt);
  out.end_array();
  return out.take();
}

auto stats_json(const std::vector<pq::QueueStats>& stats) -> std::string {
  pq::JsonWriter out;
  out.begin_array();
  for (const auto& q : stats) {
    out.begin_object();
    member(out, "queue", q.queue);
    write_counts(out, q);
    out.key("oldest_available_seconds");
    if (q.oldest_available) {
      // Microseconds, in full: JsonWriter::number writes the shortest text, which turns 1 µs into 1e-06.
      out.raw(fmt::format("{:.6f}", std::chrono::duration<double>(*q.oldest_available).count()));
    } else {
      out.null();
    }
    member(out, "finished_last_minute", q.finished);
    out.end_object();
  }
  out.end_array();
  return out.take();
}

auto JsonLine::finish() -> std::string {
  out_.end_object();
  return out_.take() + '\n';
}

void JsonLine::print() {
  fmt::print("{}", finish());
}

// ---- stdout --------------------------------------------------------------------------------------------

void flush_output() {
  if (std::fflush(stdout) != 0 || std::ferror(stdout) != 0) {
    throw OutputError(fmt::format("cannot write to stdout: {}", std::strerror(errno)));
  }
}

}  // namespace pq_cli
