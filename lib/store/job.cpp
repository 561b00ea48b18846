#include "store/job.hpp"

#include <fmt/core.h>

#include <array>

#include "pq/error.hpp"

namespace pq {
namespace {

constexpr std::array<std::string_view, 6> kStateNames{"scheduled", "available", "running",
                                                      "completed", "failed",    "cancelled"};

// Column numbers looked up once per result, by name, so statements may return columns in any order.
struct Columns {
  explicit Columns(const pg::Result& r)
      : id(r.column("id")),
        queue(r.column("queue")),
        kind(r.column("kind")),
        data(r.column("data")),
        state(r.column("state")),
        priority(r.column("priority")),
        attempt(r.column("attempt")),
        max_attempts(r.column("max_attempts")),
        enqueued_at(r.column("enqueued_at")),
        schedule_at(r.column("schedule_at")),
        expected_at(r.column("expected_at")),
        attempted_at(r.column("attempted_at")),
        lease_until(r.column("lease_until")),
        finished_at(r.column("finished_at")),
        locked_by(r.column("locked_by")),
        cancel_requested(r.column("cancel_requested")),
        errors(r.column("errors")) {}
  int id, queue, kind, data, state, priority, attempt, max_attempts, enqueued_at, schedule_at, expected_at,
      attempted_at, lease_until, finished_at, locked_by, cancel_requested, errors;
};

auto decode_row(const pg::Result& r, const Columns& c, int row) -> Job {
  Job job;
  job.id = r.i64(row, c.id);
  job.queue = r.text(row, c.queue);
  job.kind = r.text(row, c.kind);
  job.data = r.text(row, c.data);
  job.state = parse_job_state(r.text(row, c.state));
  job.priority = static_cast<int>(r.i64(row, c.priority));
  job.attempt = static_cast<int>(r.i64(row, c.attempt));
  job.max_attempts = static_cast<int>(r.i64(row, c.max_attempts));
  job.enqueued_at = r.time(row, c.enqueued_at);
  job.schedule_at = r.time(row, c.schedule_at);
  job.expected_at = r.opt_time(row, c.expected_at);
  job.attempted_at = r.opt_time(row, c.attempted_at);
  job.lease_until = r.opt_time(row, c.lease_until);
  job.finished_at = r.opt_time(row, c.finished_at);
  if (auto locked_by = r.opt_text(row, c.locked_by)) job.locked_by = std::string(*locked_by);
  job.cancel_requested = r.boolean(row, c.cancel_requested);
  job.errors = r.text(row, c.errors);
  return job;
}

}  // namespace

auto to_string(JobState state) noexcept -> std::string_view {
  return kStateNames.at(static_cast<std::size_t>(state));
}

auto parse_job_state(std::string_view name) -> JobState {
  for (std::size_t i = 0; i < kStateNames.size(); ++i) {
    if (kStateNames[i] == name) return static_cast<JobState>(i);
  }
  throw UsageError(fmt::format(
      "unknown job state '{}': expected scheduled, available, running, completed, failed or cancelled", name));
}

auto decode_jobs(const pg::Result& result) -> std::vector<Job> {
  std::vector<Job> jobs;
  if (result.rows() == 0) return jobs;
  const Columns columns(result);
  jobs.reserve(static_cast<std::size_t>(result.rows()));
  for (int row = 0; row < result.rows(); ++row) {
    // A statement that also reports something else (queue/claim_completing.sql) adds rows without a job.
    if (!result.is_null(row, columns.id)) jobs.push_back(decode_row(result, columns, row));
  }
  return jobs;
}

auto decode_job(const pg::Result& result) -> std::optional<Job> {
  if (result.rows() == 0) return std::nullopt;
  return decode_row(result, Columns(result), 0);
}

}  // namespace pq
