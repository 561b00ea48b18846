// pause, resume, queues: what starts, fleet-wide, and what each queue holds.
#include "command.hpp"

namespace pq_cli {
namespace {

/// "queue 'q'", or "kind 'k' of queue 'q'": what a pause or resume applies to.
auto scope(std::string_view kind, const std::string& queue) -> std::string {
  return kind.empty() ? fmt::format("queue '{}'", cell(queue))
                      : fmt::format("kind '{}' of queue '{}'", cell(kind), cell(queue));
}

}  // namespace

auto run_pause(Context& ctx) -> int {
  auto queue = ctx.pq()[ctx.required("queue", "a QUEUE")];
  pq::PauseOptions options{.kind = ctx.text("kind").value_or(""),
                           .reason = ctx.text("reason").value_or(""),
                           .cancel_running = ctx.has("cancel-running"),
                           .new_kind = ctx.has("new-kind")};
  if (ctx.has("kind") && options.kind.empty()) {
    throw pq::UsageError("--kind is empty; leave it out to pause the queue");
  }
  if (auto length = ctx.text("for")) options.for_ = parse_seconds("--for", *length);
  const auto result = queue.pause(options);
  if (ctx.json()) {
    JsonLine()
        .add("queue", queue.name())
        .add("kind", options.kind)
        .add("running", result.running)
        .add("cancel_requested", result.cancel_requested)
        .print();
    return kOk;
  }
  fmt::print("paused {}{}", scope(options.kind, queue.name()),
             options.for_ ? " for " + human_duration(*options.for_) : std::string());
  if (result.running > 0) {
    fmt::print("; {} still running{}", jobs_count(result.running),
               options.cancel_running ? fmt::format(" ({} asked to stop)", result.cancel_requested)
                                      : std::string(" (they finish)"));
  }
  fmt::print("\n");
  return kOk;
}

auto run_resume(Context& ctx) -> int {
  const auto name = ctx.text("queue");
  if (name.has_value() == ctx.has("all")) throw pq::UsageError("resume needs a QUEUE or --all, not both");
  if (ctx.has("all") && ctx.has("kind")) throw pq::UsageError("--kind goes with a QUEUE; --all resumes every kind");
  if (ctx.has("all")) {
    const auto resumed = ctx.pq().resume_all();
    if (ctx.json()) {
      JsonLine().add("resumed", resumed).print();
    } else {
      fmt::print("resumed {} pause{}\n", resumed, resumed == 1 ? "" : "s");
    }
    return kOk;
  }
  const auto kind = ctx.text("kind").value_or("");
  if (ctx.has("kind") && kind.empty()) throw pq::UsageError("--kind is empty; leave it out to resume the queue");
  auto queue = ctx.pq()[*name];
  if (!queue.resume(kind)) throw Nothing(scope(kind, queue.name()) + " is not paused");
  if (ctx.json()) {
    JsonLine().add("resumed", 1).print();
  } else {
    fmt::print("resumed {}\n", scope(kind, queue.name()));
  }
  return kOk;
}

auto run_queues(Context& ctx) -> int {
  const auto stats = pq::Admin{ctx.pq()}.stats();
  const auto pauses = ctx.pq().paused();
  if (ctx.json()) {
    fmt::print("{}\n", queues_json(stats, pauses));
  } else if (stats.empty() && pauses.empty()) {
    fmt::print("no queues in schema '{}': none holds jobs or is paused\n", cell(ctx.pq().options().schema));
  } else {
    fmt::print("{}", queues_table(stats, pauses).render());
  }
  return kOk;
}

}  // namespace pq_cli
