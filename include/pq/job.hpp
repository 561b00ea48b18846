// pq::Job, the row as programs see it, and the options of a new job.
#pragma once

#include <chrono>
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>

namespace pq {

using Clock = std::chrono::system_clock;
using TimePoint = Clock::time_point;

/// The life of a job, in the order of the database's job_state type (sql/migrations/001_init.sql), whose last
/// three states are the terminal ones. Each state names who moves a job out of it.
enum class JobState {
  scheduled,  ///< waits for schedule_at; the promoter or a blocking get of its queue makes it available
  available,  ///< ready; a claim (worker or get) takes it, `pq cancel` cancels it
  running,    ///< leased to a worker; it completes, retries or fails it, or the rescuer does when the lease ends
  completed,  ///< done; the pruner removes it after the retention
  failed,     ///< attempts exhausted; `pq retry` requeues it, the pruner removes it
  cancelled,  ///< cancelled; `pq retry` requeues it, the pruner removes it
};

/// The state's name as the database spells it.
[[nodiscard]] auto to_string(JobState state) noexcept -> std::string_view;
/// Parses a state name; throws pq::UsageError listing the valid names.
[[nodiscard]] auto parse_job_state(std::string_view name) -> JobState;

/// One job. `data` and `errors` are JSON text; `errors` is an array of {attempt, at, error}.
struct Job {
  std::int64_t id = 0;
  std::string queue;
  std::string kind;
  std::string data;
  JobState state = JobState::available;
  int priority = 0;
  int attempt = 0;
  int max_attempts = 0;
  TimePoint enqueued_at;
  TimePoint schedule_at;
  std::optional<TimePoint> expected_at;
  std::optional<TimePoint> attempted_at;
  std::optional<TimePoint> lease_until;
  std::optional<TimePoint> finished_at;
  std::optional<std::string> locked_by;
  bool cancel_requested = false;
  std::string errors = "[]";
};

/// A moment given either as a delay from the database's now() or as an absolute time.
class When {
 public:
  template <class Rep, class Period>
  When(std::chrono::duration<Rep, Period> delay)  // NOLINT(google-explicit-constructor): `.schedule_at = 5min`
      : delay_(std::chrono::duration_cast<std::chrono::microseconds>(delay)) {}
  template <class Duration>
  When(std::chrono::time_point<Clock, Duration> at)  // NOLINT(google-explicit-constructor)
      : at_(std::chrono::time_point_cast<std::chrono::microseconds>(at)) {}

  /// The delay from now, when given as one.
  [[nodiscard]] auto delay() const noexcept -> std::optional<std::chrono::microseconds> { return delay_; }
  /// The absolute time, when given as one.
  [[nodiscard]] auto at() const noexcept
      -> std::optional<std::chrono::time_point<Clock, std::chrono::microseconds>> {
    return at_;
  }

 private:
  std::optional<std::chrono::microseconds> delay_;
  std::optional<std::chrono::time_point<Clock, std::chrono::microseconds>> at_;
};

inline constexpr int kDefaultMaxAttempts = 25;
inline constexpr int kMinPriority = -32768;
inline constexpr int kMaxPriority = 32767;

/// Options of a new job. Lower priority runs first; then earlier expected_at (unset last); then FIFO.
struct PutOptions {
  std::optional<When> schedule_at{};  ///< invisible to consumers until then
  std::optional<When> expected_at{};  ///< when the job is expected to run: orders jobs of equal priority
  int priority = 0;                 ///< kMinPriority..kMaxPriority, lower first
  int max_attempts = kDefaultMaxAttempts;  ///< > 0; a worker retries a failing job until this many attempts
  std::string kind{};  ///< the task that handles the job ("" for plain data jobs)
};

}  // namespace pq
