#include "pq/queue.hpp"

#include <fmt/core.h>
#include <simdjson.h>
#include <unistd.h>

#include <algorithm>
#include <array>
#include <charconv>
#include <random>

#include "common/validate.hpp"
#include "pg/statements.hpp"
#include "pq/connection.hpp"
#include "pq/duration.hpp"
#include "pq/error.hpp"
#include "queue/pool.hpp"
#include "queue/put_checks.hpp"
#include "queue/transaction_access.hpp"
#include "queue/wait.hpp"
#include "store/store.hpp"
#include "task/retry_policy.hpp"

namespace pq {
namespace {

// A lease's token is "ATTEMPT.HOLDER": the two things besides the id that the worker's guarded statements
// check. The holder is what locked_by shows, so an operator sees where a leased job went.
struct LeaseToken {
  int attempt = 0;
  std::string holder;
};

auto new_holder() -> std::string {
  std::array<char, 256> host{};
  if (::gethostname(host.data(), host.size() - 1) != 0) host[0] = 0;
  std::random_device random;
  return fmt::format("pq-lease:{}:{}:{:08x}", host.data(), ::getpid(), random());
}

auto parse_token(std::string_view token) -> LeaseToken {
  LeaseToken parsed;
  const auto dot = token.find('.');
  const auto digits = token.substr(0, dot);
  auto [end, error] = std::from_chars(digits.data(), digits.data() + digits.size(), parsed.attempt);
  if (dot == std::string_view::npos || dot + 1 == token.size() || error != std::errc{} ||
      end != digits.data() + digits.size() || parsed.attempt < 1) {
    throw UsageError("bad lease token: expected ATTEMPT.HOLDER as the lease printed it");
  }
  parsed.holder = token.substr(dot + 1);
  return parsed;
}

auto held(std::int64_t id, const LeaseToken& token) -> store::Held {
  store::Held jobs;
  jobs.add(id, token.attempt);
  return jobs;
}

auto session_of(Transaction& tx, const std::shared_ptr<detail::Shared>& mine) -> pg::Session& {
  if (&detail::TransactionAccess::shared(tx) != mine.get()) {
    throw UsageError("the transaction belongs to another pq::PQ than the queue");
  }
  return detail::TransactionAccess::session(tx);
}

}  // namespace

namespace detail {

void validate_put(const Shared& shared, std::string_view json, const PutOptions& options) {
  validate_put_options(options);
  validate_payload(json, shared.pool.options().max_payload);
}

void validate_put_many(const Shared& shared, std::span<const std::string> jsons, const PutOptions& options) {
  validate_put_options(options);
  for (std::size_t i = 0; i < jsons.size(); ++i) {
    try {
      validate_payload(jsons[i], shared.pool.options().max_payload);
    } catch (const JsonError& error) {
      throw JsonError("job " + std::to_string(i) + ": " + error.what(), error.offset());
    } catch (const UsageError& error) {
      throw UsageError("job " + std::to_string(i) + ": " + error.what());
    }
  }
}

auto notified(const std::string& queue, const std::vector<std::int64_t>& ids, const PutOptions& options)
    -> pg::Notified {
  const bool anywhere = options.priority != 0 || options.expected_at.has_value();
  return {queue, anywhere, *std::min_element(ids.begin(), ids.end())};
}

}  // namespace detail

Queue::Queue(std::shared_ptr<detail::Shared> shared, std::string_view name)
    : shared_(std::move(shared)), name_(name) {
  validate_queue_name(name_);
}

auto Queue::put(std::string_view json, const PutOptions& options) -> std::int64_t {
  detail::validate_put(*shared_, json, options);
  auto put = detail::with_session(*shared_, [&](pg::Session& s) { return store::put(s, name_, json, options); });
  if (put.available) shared_->notifier.notify(detail::notified(name_, put.ids, options));
  return put.ids.front();
}

auto Queue::put(Transaction& tx, std::string_view json, const PutOptions& options) -> std::int64_t {
  detail::validate_put(*shared_, json, options);
  auto put = store::put(session_of(tx, shared_), name_, json, options);
  if (put.available) detail::TransactionAccess::notify_on_commit(tx, detail::notified(name_, put.ids, options));
  return put.ids.front();
}

auto Queue::put_many(std::span<const std::string> jsons, const PutOptions& options)
    -> std::vector<std::int64_t> {
  detail::validate_put_many(*shared_, jsons, options);
  auto put = detail::with_session(*shared_,
                                  [&](pg::Session& s) { return store::put_many(s, name_, jsons, options); });
  if (put.available) shared_->notifier.notify(detail::notified(name_, put.ids, options));
  return std::move(put.ids);
}

auto Queue::put_many(Transaction& tx, std::span<const std::string> jsons, const PutOptions& options)
    -> std::vector<std::int64_t> {
  detail::validate_put_many(*shared_, jsons, options);
  auto put = store::put_many(session_of(tx, shared_), name_, jsons, options);
  if (put.available) detail::TransactionAccess::notify_on_commit(tx, detail::notified(name_, put.ids, options));
  return std::move(put.ids);
}

auto Queue::get(Wait wait) -> std::optional<Job> {
  const auto& options = shared_->pool.options();
  return detail::wait_for_job({name_, wait, options}, *shared_, nullptr,
                              [&](pg::Session& on) { return store::take(on, name_, options.keep_completed); });
}

auto Queue::get(Transaction& tx, Wait wait) -> std::optional<Job> {
  // A session inside a transaction receives no notifications until it ends, so another one listens.
  const auto& options = shared_->pool.options();
  auto job = detail::wait_for_job({name_, wait, options}, *shared_, &session_of(tx, shared_),
                                  [&](pg::Session& on) { return store::take(on, name_, options.keep_completed); });
  if (job) detail::TransactionAccess::notify_on_rollback(tx, {name_, true, 0});
  return job;
}

auto Queue::lease(std::chrono::microseconds lease, Wait wait) -> std::optional<LeasedJob> {
  if (lease <= std::chrono::microseconds::zero() || lease > kMaxDuration) {
    throw UsageError("a lease must be longer than 0s and at most 36500 days");
  }
  const auto holder = new_holder();
  // claim.sql, like take.sql, can find nothing in a race that a second run wins.
  auto claim = [&](pg::Session& on) -> std::optional<Job> {
    for (int run = 0; run < 2; ++run) {
      auto jobs = store::claim(on, name_, 1, lease, holder);
      if (!jobs.empty()) return std::move(jobs.front());
    }
    return std::nullopt;
  };
  auto job = detail::wait_for_job({name_, wait, shared_->pool.options()}, *shared_, nullptr, claim);
  if (!job) return std::nullopt;
  auto token = fmt::format("{}.{}", job->attempt, holder);
  return LeasedJob{std::move(*job), std::move(token)};
}

auto complete_lease(const PQ& pq, std::int64_t id, std::string_view token) -> LeaseResult {
  const auto lease = parse_token(token);
  return detail::with_session(*pq.shared(), [&](pg::Session& s) {
    const auto written = store::complete_many(s, held(id, lease), lease.holder, pq.options().keep_completed);
    return written.empty() ? LeaseResult::lost : LeaseResult::completed;
  });
}

auto fail_lease(const PQ& pq, std::int64_t id, std::string_view token, std::string_view error) -> LeaseResult {
  const auto lease = parse_token(token);
  if (error.find('\0') != std::string_view::npos || !simdjson::validate_utf8(error.data(), error.size())) {
    throw UsageError("the error of a failed job must be UTF-8 text without NUL bytes");
  }
  return detail::with_session(*pq.shared(), [&](pg::Session& s) {
    auto job = store::job(s, id);
    if (!job || job->attempt != lease.attempt || job->locked_by != lease.holder) return LeaseResult::lost;
    const std::array errors{std::string(error)};
    // The same choice as a worker's for a handler that threw: retry while attempts remain.
    if (job->attempt >= job->max_attempts) {
      return store::fail_many(s, held(id, lease), errors, lease.holder).empty() ? LeaseResult::lost
                                                                                : LeaseResult::failed;
    }
    const std::array delays{retry_delay(job->attempt, TaskOptions{}, draw_jitter()).count()};
    const auto retried = store::retry_many(s, held(id, lease), delays, errors, lease.holder);
    if (!retried.cancelled.empty()) return LeaseResult::cancelled;
    return retried.rescheduled.empty() ? LeaseResult::lost : LeaseResult::retrying;
  });
}

auto release_lease(const PQ& pq, std::int64_t id, std::string_view token) -> LeaseResult {
  const auto lease = parse_token(token);
  return detail::with_session(*pq.shared(), [&](pg::Session& s) {
    return store::release_many(s, held(id, lease), lease.holder).empty() ? LeaseResult::lost
                                                                         : LeaseResult::released;
  });
}

auto Queue::size() -> std::int64_t {
  return detail::with_session(*shared_, [&](pg::Session& s) { return store::size(s, name_); });
}

auto Queue::count(JobState state) -> std::int64_t {
  return detail::with_session(*shared_, [&](pg::Session& s) { return store::count(s, name_, state); });
}

auto Queue::clear() -> std::int64_t {
  return detail::with_session(*shared_, [&](pg::Session& s) { return store::clear(s, name_); });
}

auto Queue::update(std::int64_t id, std::string_view json) -> bool {
  validate_payload(json, shared_->pool.options().max_payload);
  return detail::with_session(*shared_, [&](pg::Session& s) { return store::update(s, name_, id, json); });
}

JobIterator::JobIterator(Queue* queue, Wait wait) : queue_(queue), wait_(wait) { ++*this; }

auto JobIterator::operator++() -> JobIterator& {
  job_ = queue_->get(wait_);
  return *this;
}

}  // namespace pq
