#include "pq/admin.hpp"

#include <fmt/core.h>
#include <simdjson.h>

#include <thread>

#include "common/validate.hpp"
#include "pq/connection.hpp"
#include "pq/error.hpp"
#include "queue/pool.hpp"
#include "store/admin.hpp"
#include "store/store.hpp"

namespace pq {
namespace {

void validate_filter(const JobFilter& filter) {
  if (filter.queue) validate_queue_name(*filter.queue);
  // A kind is named by the rules of a new job's kind.
  if (filter.kind && !filter.kind->empty()) validate_put_options({.kind = *filter.kind});
  if (filter.limit < 1) throw UsageError(fmt::format("limit is {}; list at least 1 job", filter.limit));
}

void validate_purge(const PurgeFilter& filter) {
  validate_queue_name(filter.queue);
  if (filter.older_than && *filter.older_than < std::chrono::microseconds::zero()) {
    throw UsageError("older_than must not be negative");
  }
  if (filter.state && !filter.unfinished &&
      (*filter.state == JobState::scheduled || *filter.state == JobState::available ||
       *filter.state == JobState::running)) {
    throw UsageError(fmt::format("{} jobs are not finished: purging them loses jobs that have not run "
                                 "(PurgeFilter::unfinished allows it)", to_string(*filter.state)));
  }
}

}  // namespace

auto error_history(const Job& job) -> std::vector<JobError> {
  simdjson::dom::parser parser;
  simdjson::dom::array entries;
  if (parser.parse(job.errors).get_array().get(entries) != simdjson::SUCCESS) {
    throw JsonError(fmt::format("the errors of job {} are not a JSON array", job.id), 0);
  }
  std::vector<JobError> history;
  for (auto entry : entries) {
    JobError error;
    std::string_view text;
    if (entry["attempt"].get_int64().get(error.attempt) != simdjson::SUCCESS) error.attempt = 0;
    if (entry["at"].get_string().get(text) == simdjson::SUCCESS) error.at = text;
    if (auto message = entry["error"]; message.get_string().get(text) == simdjson::SUCCESS) {
      error.error = text;
    } else if (message.error() == simdjson::SUCCESS) {
      error.error = simdjson::minify(message.value_unsafe());
    }
    history.push_back(std::move(error));
  }
  return history;
}

Admin::Admin(const PQ& pq) : shared_(pq.shared()) {}

auto Admin::stats(std::chrono::microseconds finished_within) -> std::vector<QueueStats> {
  if (finished_within < std::chrono::microseconds::zero()) {
    throw UsageError("the window of finished jobs must not be negative");
  }
  return detail::with_session(*shared_,
                              [&](pg::Session& s) { return store::admin::stats(s, finished_within); });
}

auto Admin::jobs(const JobFilter& filter) -> std::vector<Job> {
  validate_filter(filter);
  return detail::with_session(*shared_, [&](pg::Session& s) { return store::admin::list(s, filter); });
}

auto Admin::peek(std::string_view queue) -> std::optional<Job> {
  validate_queue_name(queue);
  return detail::with_session(*shared_, [&](pg::Session& s) { return store::admin::peek(s, queue); });
}

auto Admin::retry(std::int64_t id) -> RetryResult {
  return detail::with_session(*shared_, [&](pg::Session& s) {
    if (store::admin::requeue(s, {.id = id}) == 1) return RetryResult::requeued;
    return store::job(s, id) ? RetryResult::not_retryable : RetryResult::not_found;
  });
}

auto Admin::retry_all(std::string_view queue, JobState state) -> std::int64_t {
  validate_queue_name(queue);
  if (state != JobState::failed && state != JobState::cancelled) {
    throw UsageError(fmt::format("only failed or cancelled jobs can be retried, not {} ones", to_string(state)));
  }
  return detail::with_session(
      *shared_, [&](pg::Session& s) { return store::admin::requeue(s, {.queue = queue, .state = state}); });
}

auto Admin::cancel(std::int64_t id) -> CancelResult {
  // A row is also locked for the moment a worker's claim or result takes: a few short tries tell those from
  // a transaction that holds the job for as long as it runs.
  constexpr int kTries = 3;
  constexpr auto kPause = std::chrono::milliseconds(100);
  for (int tries = 1;; ++tries) {
    auto result = detail::with_session(*shared_, [&](pg::Session& s) { return store::admin::cancel(s, id); });
    if (result != CancelResult::in_transaction || tries == kTries) return result;
    std::this_thread::sleep_for(kPause);
  }
}

auto Admin::purge(const PurgeFilter& filter) -> PurgeResult {
  validate_purge(filter);
  return detail::with_session(*shared_, [&](pg::Session& s) { return store::admin::purge(s, filter); });
}

auto Admin::count_purge(const PurgeFilter& filter) -> std::int64_t {
  validate_purge(filter);
  return detail::with_session(*shared_, [&](pg::Session& s) { return store::admin::count_purge(s, filter); });
}

}  // namespace pq
