#include "pq/task.hpp"

#include <fmt/core.h>

#include "common/validate.hpp"
#include "pq/error.hpp"
#include "queue/pool.hpp"

namespace pq {

auto Context::transaction() const -> Transaction& {
  if (transaction_ == nullptr) {
    throw UsageError(fmt::format("task '{}' is not transactional: register it with .transactional = true",
                                 job_->kind));
  }
  return *transaction_;
}

Registry::Registry(const Registry& other) {
  std::lock_guard lock(other.mutex_);
  handlers_ = other.handlers_;
}

auto Registry::operator=(const Registry& other) -> Registry& {
  if (this != &other) {
    std::scoped_lock lock(mutex_, other.mutex_);
    handlers_ = other.handlers_;
  }
  return *this;
}

void Registry::add(TaskHandler handler) {
  validate_queue_name(handler.queue);
  if (handler.name.empty()) throw UsageError(fmt::format("a task of queue '{}' has an empty name", handler.queue));
  validate_put_options({.max_attempts = handler.options.max_attempts, .kind = handler.name});
  if (handler.options.timeout < std::chrono::milliseconds::zero()) {
    throw UsageError(fmt::format("task '{}' has a negative timeout", handler.name));
  }
  if (handler.options.retry_in && *handler.options.retry_in < std::chrono::milliseconds::zero()) {
    throw UsageError(fmt::format("task '{}' has a negative retry_in", handler.name));
  }
  if (!handler.run) throw UsageError(fmt::format("task '{}' has no handler function", handler.name));
  std::lock_guard lock(mutex_);
  auto key = std::make_pair(handler.queue, handler.name);
  if (handlers_.contains(key)) {
    throw UsageError(fmt::format("task '{}' is already registered in queue '{}'", handler.name, handler.queue));
  }
  handlers_.emplace(std::move(key), std::make_shared<const TaskHandler>(std::move(handler)));
}

void Registry::merge(const Registry& other) {
  std::vector<std::shared_ptr<const TaskHandler>> handlers;
  {
    std::lock_guard lock(other.mutex_);
    for (const auto& [key, handler] : other.handlers_) handlers.push_back(handler);
  }
  for (const auto& handler : handlers) add(*handler);
}

auto Registry::find(std::string_view queue, std::string_view kind) const -> std::shared_ptr<const TaskHandler> {
  std::lock_guard lock(mutex_);
  auto found = handlers_.find(std::make_pair(std::string(queue), std::string(kind)));
  return found == handlers_.end() ? nullptr : found->second;
}

auto Registry::queues() const -> std::vector<std::string> {
  std::lock_guard lock(mutex_);
  std::vector<std::string> out;
  for (const auto& [key, handler] : handlers_) {
    if (out.empty() || out.back() != key.first) out.push_back(key.first);
  }
  return out;
}

auto Registry::kinds(std::string_view queue) const -> std::vector<std::string> {
  std::lock_guard lock(mutex_);
  std::vector<std::string> out;
  for (const auto& [key, handler] : handlers_) {
    if (key.first == queue) out.push_back(key.second);
  }
  return out;
}

auto Registry::size() const -> std::size_t {
  std::lock_guard lock(mutex_);
  return handlers_.size();
}

namespace detail {

auto job_args(const Job& job, std::string_view task, std::size_t arity) -> Json {
  Json data = Json::parse(job.data);
  const Json* args = data.type() == Json::Type::object ? data.find("args") : nullptr;
  if (args == nullptr || args->type() != Json::Type::array) {
    throw DecodeError(fmt::format("job {} of task '{}' has no \"args\" array in its data", job.id, task));
  }
  if (args->as_array().size() != arity) {
    throw DecodeError(fmt::format("task '{}' takes {} argument{}, job {} has {}", task, arity,
                                  arity == 1 ? "" : "s", job.id, args->as_array().size()));
  }
  return *args;
}

void register_task(const Queue& queue, TaskHandler handler) { queue.shared()->registry.add(std::move(handler)); }

auto local_job(const Queue& queue, std::string_view task, std::string data) -> Job {
  Job job;
  job.queue = queue.name();
  job.kind = task;
  job.data = std::move(data);
  job.state = JobState::running;
  job.attempt = 1;
  job.max_attempts = 1;
  job.enqueued_at = job.schedule_at = Clock::now();
  return job;
}

auto push_options(const TaskOptions& defaults, const PushOptions& overrides, std::string_view kind) -> PutOptions {
  return PutOptions{
      .schedule_at = overrides.schedule_at ? overrides.schedule_at : defaults.schedule_at,
      .expected_at = overrides.expected_at ? overrides.expected_at : defaults.expected_at,
      .priority = overrides.priority.value_or(defaults.priority),
      .max_attempts = overrides.max_attempts.value_or(defaults.max_attempts),
      .kind = std::string(kind),
  };
}

}  // namespace detail
}  // namespace pq
