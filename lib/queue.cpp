#include "pq/queue.hpp"

#include "pool.hpp"
#include "pq/error.hpp"
#include "store.hpp"
#include "transaction_access.hpp"
#include "validate.hpp"
#include "wait.hpp"

namespace pq {
namespace {

void validate_put(const detail::Shared& shared, std::string_view json, const PutOptions& options) {
  validate_put_options(options);
  validate_payload(json, shared.pool.options().max_payload);
}

void validate_put_many(const detail::Shared& shared, std::span<const std::string> jsons,
                       const PutOptions& options) {
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

auto session_of(Transaction& tx, const std::shared_ptr<detail::Shared>& mine) -> pg::Session& {
  if (&detail::TransactionAccess::shared(tx) != mine.get()) {
    throw UsageError("the transaction belongs to another pq::PQ than the queue");
  }
  return detail::TransactionAccess::session(tx);
}

}  // namespace

Queue::Queue(std::shared_ptr<detail::Shared> shared, std::string_view name)
    : shared_(std::move(shared)), name_(name) {
  validate_queue_name(name_);
}

auto Queue::put(std::string_view json, const PutOptions& options) -> std::int64_t {
  validate_put(*shared_, json, options);
  return detail::with_session(*shared_, [&](pg::Session& s) { return store::put(s, name_, json, options); });
}

auto Queue::put(Transaction& tx, std::string_view json, const PutOptions& options) -> std::int64_t {
  validate_put(*shared_, json, options);
  return store::put(session_of(tx, shared_), name_, json, options);
}

auto Queue::put_many(std::span<const std::string> jsons, const PutOptions& options)
    -> std::vector<std::int64_t> {
  validate_put_many(*shared_, jsons, options);
  return detail::with_session(*shared_,
                              [&](pg::Session& s) { return store::put_many(s, name_, jsons, options); });
}

auto Queue::put_many(Transaction& tx, std::span<const std::string> jsons, const PutOptions& options)
    -> std::vector<std::int64_t> {
  validate_put_many(*shared_, jsons, options);
  return store::put_many(session_of(tx, shared_), name_, jsons, options);
}

auto Queue::get(Wait wait) -> std::optional<Job> {
  return detail::wait_for_job({name_, wait, shared_->pool.options()}, *shared_, nullptr,
                              [&](pg::Session& on) { return store::take(on, name_); });
}

auto Queue::get(Transaction& tx, Wait wait) -> std::optional<Job> {
  // A session inside a transaction receives no notifications until it ends, so another one listens.
  return detail::wait_for_job({name_, wait, shared_->pool.options()}, *shared_, &session_of(tx, shared_),
                              [&](pg::Session& on) { return store::take(on, name_); });
}

auto Queue::size() -> std::int64_t {
  return detail::with_session(*shared_, [&](pg::Session& s) { return store::size(s, name_); });
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
