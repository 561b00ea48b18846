// Queue::pause and resume, PQ::paused and resume_all: the statements in sql/pause/. The claims that honour
// pauses are in sql/queue/; a timed pause's end wakes workers through queue/promote_queue.sql's next due time.
#include <fmt/core.h>

#include "common/validate.hpp"
#include "pg/statements.hpp"
#include "pq/connection.hpp"
#include "pq/error.hpp"
#include "pq/queue.hpp"
#include "queue/pool.hpp"

namespace pq {
namespace {

// Long enough for any pause a person means; beyond it, a unit mistake (and PostgreSQL's interval range).
constexpr auto kLongestPause = std::chrono::hours(24 * 366 * 100);
constexpr std::size_t kMaxReason = 1000;

void validate(const PauseOptions& options) {
  if (!options.kind.empty()) validate_put_options({.kind = options.kind});
  if (options.for_ && *options.for_ <= std::chrono::microseconds::zero()) {
    throw UsageError(fmt::format("a pause must last a positive time, not {} µs; resume ends one at once",
                                 options.for_->count()));
  }
  if (options.for_ && *options.for_ > kLongestPause) {
    throw UsageError("a pause may last at most 100 years; leave its length unset to pause until resumed");
  }
  if (options.reason.size() > kMaxReason) {
    throw UsageError(fmt::format("the reason is {} bytes long; the limit is {}", options.reason.size(), kMaxReason));
  }
}

}  // namespace

auto Queue::pause(const PauseOptions& options) -> PauseResult {
  validate(options);
  return detail::with_session(*shared_, [&](pg::Session& s) {
    if (!options.kind.empty() && !options.new_kind &&
        !s.run(sql::pause_kind_seen, pg::Params{}.add(name_).add(options.kind)).boolean(0, 0)) {
      throw UsageError(fmt::format("queue '{}' has no job of kind '{}': check the name, or allow a kind it has "
                                   "not seen yet (PauseOptions::new_kind, pq pause --new-kind)",
                                   log_safe(name_), log_safe(options.kind)));
    }
    pg::Params params;
    params.add(name_).add(options.kind).add(options.for_).add(storable_text(options.reason))
        .add(options.cancel_running ? "true" : "false");
    auto result = s.run(sql::pause_pause, params);
    return PauseResult{.running = result.i64(0, 1), .cancel_requested = result.i64(0, 0)};
  });
}

auto Queue::resume(std::string_view kind) -> bool {
  if (!kind.empty()) validate_put_options({.kind = std::string(kind)});
  return detail::with_session(*shared_, [&](pg::Session& s) {
    return s.run(sql::pause_resume, pg::Params{}.add(name_).add(kind)).i64(0, 0) > 0;
  });
}

auto PQ::resume_all() -> std::int64_t {
  return detail::with_session(*shared_, [&](pg::Session& s) {
    pg::Params params;
    params.add_null().add_null();
    return s.run(sql::pause_resume, params).i64(0, 0);
  });
}

auto PQ::paused() -> std::vector<Pause> {
  return detail::with_session(*shared_, [&](pg::Session& s) {
    auto result = s.run(sql::pause_list);
    std::vector<Pause> pauses;
    pauses.reserve(static_cast<std::size_t>(result.rows()));
    for (int row = 0; row < result.rows(); ++row) {
      pauses.push_back({
          .queue = std::string(result.text(row, 0)),
          .kind = std::string(result.text(row, 1)),
          .until = result.opt_time(row, 2),
          .reason = std::string(result.text(row, 3)),
          .paused_by = std::string(result.text(row, 4)),
          .created_at = result.time(row, 5),
      });
    }
    return pauses;
  });
}

}  // namespace pq
