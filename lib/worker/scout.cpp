#include "scout.hpp"

#include "common/backoff.hpp"
#include "pq/error.hpp"
#include "queue/pool.hpp"

namespace pq::worker {

Scout::~Scout() {
  if (thread_.joinable()) {
    thread_.request_stop();
    thread_.join();
  }
  // Requests never claimed give back their slots.
  std::lock_guard lock(shared_->mutex);
  for (const auto& request : requests_) shared_->scouting -= request.wanted;
}

void Scout::ask(Request request) {
  {
    std::lock_guard lock(shared_->mutex);
    shared_->scouting += request.wanted;
  }
  {
    std::lock_guard lock(mutex_);
    requests_.push_back(std::move(request));
  }
  asked_.notify_one();
  if (!thread_.joinable()) thread_ = std::jthread([this](const std::stop_token& stop) { run(stop); });
}

auto Scout::reports() -> std::vector<Report> {
  std::lock_guard lock(mutex_);
  return std::exchange(reports_, {});
}

void Scout::run(const std::stop_token& stop) {
  detail::ReconnectBackoff backoff;
  std::unique_lock lock(mutex_);
  // At a stop, what is claimed is handed out and what is not yet sent is not: the destructor gives its slots back.
  while (asked_.wait(lock, stop, [&] { return !requests_.empty(); }) && !stop.stop_requested()) {
    const auto request = requests_.front();
    lock.unlock();
    try {
      const auto sent = SteadyClock::now();
      auto jobs = claim(request);
      const double took = std::chrono::duration<double>(SteadyClock::now() - sent).count();
      backoff.reset();
      // Reported first: once out, a job may run, fail and be promoted again before the report came, while the
      // fetcher still took the claim from the head for the scout's and claimed from its place only, past the
      // job; a burst would end with it available.
      lock.lock();
      requests_.pop_front();
      reports_.push_back(Report{request.queue, Places::Claim::of(took, jobs, request.wanted)});
      lock.unlock();
      shared_->hand_out(std::move(jobs), request.wanted);
      shared_->wake_fetcher.notify();
    } catch (const Error& error) {
      // The request stays, its slots reserved, and goes out again once the session is back.
      session_.reset();
      shared_->log(LogLevel::warning, "claims from the head of queue {}: {}; reconnecting in {} ms", request.queue,
                   error.what(), backoff.current().count());
      lock.lock();
      asked_.wait_for(lock, stop, backoff.next(), [] { return false; });
      continue;
    }
    lock.lock();
  }
}

auto Scout::claim(const Request& request) -> std::vector<Job> {
  if (!session_) session_ = shared_->pq.shared()->pool.open();
  const auto lease = std::chrono::duration_cast<std::chrono::microseconds>(shared_->options.lease);
  const auto& kinds = shared_->kinds.find(request.queue)->second;
  return store::claim(*session_, request.queue, request.wanted, lease, shared_->options.id, &kinds, &request.busy,
                      request.after ? &*request.after : nullptr, &request.until);
}

}  // namespace pq::worker
