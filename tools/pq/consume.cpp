// get, done, fail: jobs out of a queue, completed at once or leased and finished later.
#include <utility>

#include "command.hpp"

namespace pq_cli {

using namespace std::chrono_literals;

namespace {

auto wait_option(const Context& ctx) -> pq::Wait {
  const auto text = ctx.text("wait");
  if (!text) return 0s;
  return *text == "forever" ? pq::forever : parse_seconds("--wait", *text);
}

/// get --lease: the job stays running under a lease until done or fail, so a consumer that dies before it
/// finishes loses nothing. The first line is "ID TOKEN", the second the job's JSON.
auto get_leased(Context& ctx, const std::string& name) -> int {
  if (ctx.has("keep")) throw pq::UsageError("--keep only looks, and leases nothing: give one of --keep and --lease");
  const auto lease = parse_seconds("--lease", *ctx.text("lease"));
  auto leased = ctx.pq()[name].lease(lease, wait_option(ctx));
  if (!leased) throw Nothing(fmt::format("queue '{}' is empty", cell(name)));
  const auto& job = leased->job;
  if (ctx.json()) {
    fmt::print("{}\n", job_json(job, leased->token));
  } else {
    fmt::print("{} {}\n{}\n", job.id, leased->token, job.data);
  }
  try {
    flush_output();
  } catch (const OutputError& error) {
    pq::release_lease(ctx.pq(), job.id, leased->token);
    throw OutputError(fmt::format("{}; job {} stays in the queue", error.what(), job.id));
  }
  return kOk;
}

auto lease_of(Context& ctx) -> std::pair<std::int64_t, std::string> {
  const auto id = parse_id(ctx.required("id", "a job ID"));
  const auto token = ctx.text("token");
  if (!token) throw pq::UsageError(fmt::format("{} needs --token T, as pq get --lease printed it", ctx.command()));
  return {id, *token};
}

auto lost(std::int64_t id) -> Nothing {
  return Nothing(fmt::format("job {}: the lease has passed on (it lapsed and the job was rescued, or it was "
                             "cancelled or taken by another); nothing was recorded",
                             id));
}

auto print_outcome(Context& ctx, std::int64_t id, std::string_view outcome, std::string_view text) -> int {
  if (ctx.json()) {
    JsonLine().add("id", id).add("outcome", outcome).print();
  } else {
    fmt::print("job {} {}\n", id, text);
  }
  return kOk;
}

}  // namespace

auto run_get(Context& ctx) -> int {
  const auto name = ctx.required("queue", "a QUEUE");
  if (ctx.has("lease")) return get_leased(ctx, name);
  auto empty = [&] { return Nothing(fmt::format("queue '{}' is empty", cell(name))); };
  if (ctx.has("keep")) {
    if (ctx.has("wait")) throw pq::UsageError("--keep looks at the queue as it is and cannot --wait");
    auto job = pq::Admin{ctx.pq()}.peek(name);
    if (!job) throw empty();
    fmt::print("{}\n", ctx.json() ? job_json(*job) : job->data);
    return kOk;
  }
  // The job completes only when its transaction commits, after it was written out: a job that could not be
  // printed stays in the queue.
  auto queue = ctx.pq()[name];
  auto tx = ctx.pq().begin();
  auto job = queue.get(tx, wait_option(ctx));
  if (!job) throw empty();
  fmt::print("{}\n", ctx.json() ? job_json(*job) : job->data);
  try {
    flush_output();
  } catch (const OutputError& error) {
    throw OutputError(fmt::format("{}; job {} stays in the queue", error.what(), job->id));
  }
  tx.commit();
  return kOk;
}

auto run_done(Context& ctx) -> int {
  const auto [id, token] = lease_of(ctx);
  if (pq::complete_lease(ctx.pq(), id, token) == pq::LeaseResult::lost) throw lost(id);
  return print_outcome(ctx, id, "completed", "completed");
}

auto run_fail(Context& ctx) -> int {
  const auto [id, token] = lease_of(ctx);
  const auto error = ctx.text("error").value_or("failed with pq fail");
  switch (pq::fail_lease(ctx.pq(), id, token, error)) {
    case pq::LeaseResult::retrying: return print_outcome(ctx, id, "retrying", "will run again after a backoff");
    case pq::LeaseResult::failed: return print_outcome(ctx, id, "failed", "failed: it had no attempts left");
    case pq::LeaseResult::cancelled: return print_outcome(ctx, id, "cancelled", "cancelled, as was requested");
    default: throw lost(id);
  }
}

}  // namespace pq_cli
