// retry, cancel, purge: jobs put right by hand, one by id or a queue's at once.
#include "command.hpp"

namespace pq_cli {

auto run_retry(Context& ctx) -> int {
  const auto id = ctx.text("id");
  const auto queue = ctx.text("queue");
  if (id.has_value() == queue.has_value()) {
    throw pq::UsageError("retry needs a job ID or --queue Q (with --state failed or cancelled), not both");
  }
  if (id && ctx.has("state")) throw pq::UsageError("--state goes with --queue; retry ID takes no --state");
  std::int64_t requeued = 0;
  if (id) {
    const auto job = parse_id(*id);
    switch (pq::Admin{ctx.pq()}.retry(job)) {
      case pq::RetryResult::requeued: requeued = 1; break;
      case pq::RetryResult::not_found: throw Nothing(fmt::format("job {} not found", job));
      case pq::RetryResult::not_retryable:
        throw Nothing(fmt::format("{}; only failed or cancelled jobs can be retried", ctx.state_of(job)));
    }
  } else {
    requeued = pq::Admin{ctx.pq()}.retry_all(*queue, state_option(ctx.args()).value_or(pq::JobState::failed));
  }
  if (ctx.json()) {
    JsonLine().add("requeued", requeued).print();
  } else if (id) {
    fmt::print("job {} is available again\n", *id);
  } else {
    fmt::print("requeued {} of queue '{}'\n", jobs_count(requeued), cell(*queue));
  }
  return kOk;
}

auto run_cancel(Context& ctx) -> int {
  const auto id = parse_id(ctx.required("id", "a job ID"));
  std::string_view outcome;
  switch (pq::Admin{ctx.pq()}.cancel(id)) {
    case pq::CancelResult::cancelled: outcome = "cancelled"; break;
    case pq::CancelResult::cancel_requested: outcome = "cancel requested"; break;
    case pq::CancelResult::not_found: throw Nothing(fmt::format("job {} not found", id));
    case pq::CancelResult::already_finished:
      throw Nothing(fmt::format("{}; only scheduled, available or running jobs can be cancelled", ctx.state_of(id)));
    case pq::CancelResult::in_transaction:
      throw Nothing(fmt::format("job {} runs in a transaction and cannot be cancelled; it ends with that "
                                "transaction (a transactional task's at its timeout)", id));
  }
  if (ctx.json()) {
    JsonLine().add("id", id).add("outcome", outcome).print();
  } else if (outcome == "cancelled") {
    fmt::print("job {} cancelled\n", id);
  } else {
    fmt::print("job {} is running: its worker will stop it at its next heartbeat\n", id);
  }
  return kOk;
}

auto run_purge(Context& ctx) -> int {
  pq::PurgeFilter filter{.queue = ctx.text("queue").value_or(""), .state = state_option(ctx.args()),
                         .unfinished = ctx.has("force")};
  if (filter.queue.empty()) throw pq::UsageError("purge needs --queue Q (see pq purge --help)");
  if (auto older = ctx.text("older-than")) filter.older_than = parse_seconds("--older-than", *older);
  if (filter.state && !filter.unfinished && *filter.state != pq::JobState::completed &&
      *filter.state != pq::JobState::failed && *filter.state != pq::JobState::cancelled) {
    throw pq::UsageError(fmt::format("{} jobs are not finished, and purging them loses them; add --force if "
                                     "that is what you want (--dry-run counts them first)",
                                     pq::to_string(*filter.state)));
  }
  pq::Admin admin{ctx.pq()};
  if (ctx.has("dry-run")) {
    const auto matching = admin.count_purge(filter);
    if (ctx.json()) {
      JsonLine().add("would_delete", matching).print();
    } else {
      fmt::print("would delete {} of queue '{}' (dry run: nothing deleted)\n", jobs_count(matching),
                 cell(filter.queue));
    }
    return kOk;
  }
  const auto purged = admin.purge(filter);
  if (ctx.json()) {
    JsonLine().add("deleted", purged.deleted).add("skipped", purged.skipped).print();
  } else {
    fmt::print("deleted {} of queue '{}'{}\n", jobs_count(purged.deleted), cell(filter.queue),
               purged.skipped == 0 ? ""
                                   : fmt::format("; skipped {} held by a running transaction",
                                                 jobs_count(purged.skipped)));
  }
  return kOk;
}

}  // namespace pq_cli
