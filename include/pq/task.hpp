// Typed tasks: a registry of handler functions, the C++ counterpart of a Python task decorator.
//
//   auto add = pq["math"].task("add", [](int a, int b) { return a + b; }, {.max_attempts = 3});
//   add(2, 3);        // runs here and now
//   add.push(2, 3);   // enqueues {"args":[2,3]} with kind "add"; a pq::Worker runs it
#pragma once

#include <chrono>
#include <cstdint>
#include <functional>
#include <map>
#include <memory>
#include <mutex>
#include <optional>
#include <stop_token>
#include <string>
#include <string_view>
#include <tuple>
#include <type_traits>
#include <utility>
#include <vector>

#include "pq/job.hpp"
#include "pq/json.hpp"
#include "pq/queue.hpp"

namespace pq {

class Transaction;

struct TaskOptions {
  /// Attempts before the job is failed; stored in the job row when it is pushed.
  int max_attempts = kDefaultMaxAttempts;
  /// A fixed delay between attempts; unset means exponential backoff with jitter (attempt^4 seconds ±10%,
  /// capped at a day).
  std::optional<std::chrono::milliseconds> retry_in{};
  /// A run longer than this is abandoned and recorded as an error; zero means no limit.
  std::chrono::milliseconds timeout = std::chrono::minutes(30);
  /// Defaults for pushed jobs.
  int priority = 0;
  std::optional<When> schedule_at{};
  std::optional<When> expected_at{};
  /// Run the handler inside a transaction that also completes the job: its writes and the completion commit
  /// together, exactly once; an exception or a crash rolls both back.
  bool transactional = false;
};

/// Per-call overrides of a task's defaults for one push.
struct PushOptions {
  std::optional<When> schedule_at{};
  std::optional<When> expected_at{};
  std::optional<int> priority{};
  std::optional<int> max_attempts{};
};

/// What a handler may take as its first parameter: the job being run and its circumstances.
class Context {
 public:
  Context(const Job& job, Transaction* transaction, std::stop_token stop) noexcept
      : job_(&job), transaction_(transaction), stop_(std::move(stop)) {}

  [[nodiscard]] auto job() const noexcept -> const Job& { return *job_; }
  [[nodiscard]] auto attempt() const noexcept -> int { return job_->attempt; }
  [[nodiscard]] auto transactional() const noexcept -> bool { return transaction_ != nullptr; }
  /// The transaction the job's completion commits in; throws pq::UsageError for a task that is not
  /// transactional.
  [[nodiscard]] auto transaction() const -> Transaction&;
  /// Requested when the job times out, is cancelled, loses its lease, or its worker shuts down.
  [[nodiscard]] auto stop_token() const noexcept -> std::stop_token { return stop_; }
  [[nodiscard]] auto stop_requested() const noexcept -> bool { return stop_.stop_requested(); }

 private:
  const Job* job_;
  Transaction* transaction_;
  std::stop_token stop_;
};

/// A handler as the registry keeps it: for one kind of job in one queue.
struct TaskHandler {
  std::string queue;
  std::string name;
  TaskOptions options;
  std::function<void(Context&)> run;
};

/// Handlers by (queue, kind). Thread-safe. Plugins fill one through `PQ_PLUGIN` (below).
class Registry {
 public:
  Registry() = default;
  Registry(const Registry& other);
  auto operator=(const Registry& other) -> Registry&;

  /// Throws pq::UsageError when the queue already has a task of that name, or for an invalid name.
  void add(TaskHandler handler);
  /// Registers a typed handler: `registry.task("apples", "eat", [](const std::string& kind) {...})`.
  template <class F>
  void task(std::string_view queue, std::string_view name, F fn, TaskOptions options = {});
  /// Adds every handler of `other`.
  void merge(const Registry& other);

  [[nodiscard]] auto find(std::string_view queue, std::string_view kind) const
      -> std::shared_ptr<const TaskHandler>;
  /// The queues that have at least one handler, sorted.
  [[nodiscard]] auto queues() const -> std::vector<std::string>;
  /// The kinds that have a handler in `queue`, sorted.
  [[nodiscard]] auto kinds(std::string_view queue) const -> std::vector<std::string>;
  [[nodiscard]] auto size() const -> std::size_t;

 private:
  mutable std::mutex mutex_;
  std::map<std::pair<std::string, std::string>, std::shared_ptr<const TaskHandler>, std::less<>> handlers_;
};

namespace detail {

template <class T>
struct signature : signature<decltype(&T::operator())> {};
template <class R, class... A>
struct signature<R (*)(A...)> {
  using result = R;
  using params = std::tuple<A...>;
};
template <class R, class... A>
struct signature<R (*)(A...) noexcept> : signature<R (*)(A...)> {};
template <class C, class R, class... A>
struct signature<R (C::*)(A...) const> : signature<R (*)(A...)> {};
template <class C, class R, class... A>
struct signature<R (C::*)(A...) const noexcept> : signature<R (*)(A...)> {};
template <class C, class R, class... A>
struct signature<R (C::*)(A...)> : signature<R (*)(A...)> {};
template <class C, class R, class... A>
struct signature<R (C::*)(A...) noexcept> : signature<R (*)(A...)> {};

template <class Tuple>
struct first_is_context : std::false_type {};
template <class A0, class... A>
struct first_is_context<std::tuple<A0, A...>> : std::is_same<std::remove_cvref_t<A0>, Context> {};

template <class Tuple>
struct drop_first;
template <class A0, class... A>
struct drop_first<std::tuple<A0, A...>> {
  using type = std::tuple<A...>;
};

template <class Tuple>
struct decayed;
template <class... A>
struct decayed<std::tuple<A...>> {
  using type = std::tuple<std::remove_cvref_t<A>...>;
};

/// The arguments a handler takes from the job, without a leading Context&, decayed.
template <class F>
struct task_args {
  using params = typename signature<std::decay_t<F>>::params;
  static constexpr bool takes_context = first_is_context<params>::value;
  using type = typename decayed<
      typename std::conditional_t<takes_context, drop_first<params>, std::type_identity<params>>::type>::type;
};

/// The job's "args" array, checked against the handler's arity; throws pq::DecodeError.
auto job_args(const Job& job, std::string_view task, std::size_t arity) -> Json;
/// {"args":[...]} from already encoded arguments.
template <class... A>
auto encode_args(const A&... args) -> std::string {
  JsonWriter out;
  out.begin_object();
  out.key("args");
  out.begin_array();
  (pq::encode(out, args), ...);
  out.end_array();
  out.end_object();
  return out.take();
}
/// Registers in the registry of the pq::PQ a queue belongs to.
void register_task(const Queue& queue, TaskHandler handler);
/// A job as a task would see it when called here and now.
auto local_job(const Queue& queue, std::string_view task, std::string data) -> Job;
auto push_options(const TaskOptions& defaults, const PushOptions& overrides, std::string_view kind) -> PutOptions;

template <class F, class... A, std::size_t... I>
auto call_decoded(F& fn, Context& context, const Json::Array& args, std::index_sequence<I...> /*unused*/) {
  std::tuple<A...> decoded{
      at_path("argument " + std::to_string(I + 1), [&] { return pq::decode<A>(args[I]); })...};
  if constexpr (task_args<F>::takes_context) {
    return std::apply([&](auto&... values) { return fn(context, values...); }, decoded);
  } else {
    (void)context;
    return std::apply(fn, decoded);
  }
}

template <class F, class Args = typename task_args<F>::type>
struct handler_maker;

template <class F, class... A>
struct handler_maker<F, std::tuple<A...>> {
  static auto make(std::string queue, std::string name, F fn, TaskOptions options) -> TaskHandler {
    auto task = name;
    return TaskHandler{std::move(queue), std::move(name), options,
                       [fn = std::move(fn), task = std::move(task)](Context& context) mutable {
                         auto args = job_args(context.job(), task, sizeof...(A));
                         call_decoded<F, A...>(fn, context, args.as_array(), std::index_sequence_for<A...>{});
                       }};
  }
};

}  // namespace detail

template <class F>
void Registry::task(std::string_view queue, std::string_view name, F fn, TaskOptions options) {
  add(detail::handler_maker<F>::make(std::string(queue), std::string(name), std::move(fn), options));
}

template <class F, class Args = typename detail::task_args<F>::type>
class Task;

/// A registered task: call it to run the handler here and now, push() to enqueue a job for a worker.
template <class F, class... A>
class Task<F, std::tuple<A...>> {
 public:
  using result_type = typename detail::signature<std::decay_t<F>>::result;

  Task(Queue queue, std::string name, F fn, TaskOptions options)
      : queue_(std::move(queue)), name_(std::move(name)), fn_(std::make_shared<F>(std::move(fn))), options_(options) {}

  /// Runs the handler in this thread (with a Context whose job is not in the database).
  auto operator()(const A&... args) const -> result_type {
    if constexpr (detail::task_args<F>::takes_context) {
      auto job = detail::local_job(queue_, name_, detail::encode_args(args...));
      Context context(job, nullptr, {});
      return (*fn_)(context, args...);
    } else {
      return (*fn_)(args...);
    }
  }

  /// Enqueues {"args":[...]} with kind = the task's name; returns the job id.
  auto push(const A&... args) const -> std::int64_t { return push(PushOptions{}, args...); }
  auto push(const PushOptions& options, const A&... args) const -> std::int64_t {
    return queue_.put(detail::encode_args(args...), detail::push_options(options_, options, name_));
  }
  /// Enqueues inside the caller's transaction.
  auto push(Transaction& tx, const A&... args) const -> std::int64_t { return push(tx, PushOptions{}, args...); }
  auto push(Transaction& tx, const PushOptions& options, const A&... args) const -> std::int64_t {
    return queue_.put(tx, detail::encode_args(args...), detail::push_options(options_, options, name_));
  }

  [[nodiscard]] auto name() const noexcept -> const std::string& { return name_; }
  [[nodiscard]] auto options() const noexcept -> const TaskOptions& { return options_; }
  [[nodiscard]] auto queue() const noexcept -> const Queue& { return queue_; }

 private:
  mutable Queue queue_;
  std::string name_;
  std::shared_ptr<F> fn_;
  TaskOptions options_;
};

template <class F>
auto Queue::task(std::string_view name, F fn, TaskOptions options)
    -> Task<F, typename detail::task_args<F>::type> {
  detail::register_task(*this, detail::handler_maker<F>::make(name_, std::string(name), fn, options));
  return Task<F>(*this, std::string(name), std::move(fn), options);
}

template <class F>
auto Queue::task(std::string_view name, F fn) -> Task<F, typename detail::task_args<F>::type> {
  return task(name, std::move(fn), TaskOptions{});
}

}  // namespace pq

/// The one entry point of a pq-worker plugin (a shared library loaded with `pq-worker --plugin lib.so`):
///
///   PQ_PLUGIN(registry) {
///     registry.task("apples", "eat", [](const std::string& kind) { ... }, {.max_attempts = 3});
///   }
#define PQ_PLUGIN(registry) \
  extern "C" __attribute__((visibility("default"))) void pq_register_tasks(pq::Registry& registry)
