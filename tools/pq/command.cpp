// The options every command group reads, and the Context's connection.
#include "command.hpp"

namespace pq_cli {

auto text_option(const cxxopts::ParseResult& args, const std::string& name) -> std::optional<std::string> {
  if (args.count(name) == 0) return std::nullopt;
  return args[name].as<std::string>();
}

auto parse_id(std::string_view text) -> std::int64_t {
  auto id = parse_integer<std::int64_t>("job id", text);
  if (id < 1) throw pq::UsageError(fmt::format("bad job id '{}': ids start at 1", text));
  return id;
}

auto parse_seconds(std::string_view what, std::string_view text) -> std::chrono::microseconds {
  try {
    return pq::parse_duration(text);
  } catch (const pq::UsageError& error) {
    std::string message = error.what();
    constexpr std::string_view kGeneric = "bad duration";
    if (message.starts_with(kGeneric)) message.replace(0, kGeneric.size(), fmt::format("bad {}", what));
    throw pq::UsageError(message);
  }
}

auto state_option(const cxxopts::ParseResult& args) -> std::optional<pq::JobState> {
  if (auto state = text_option(args, "state")) return pq::parse_job_state(*state);
  return std::nullopt;
}

auto Context::required(const std::string& name, std::string_view shown) const -> std::string {
  if (auto value = text(name)) return *value;
  throw pq::UsageError(fmt::format("{} needs {} (see pq {} --help)", command_, shown, command_));
}

auto Context::pq() -> pq::PQ& {
  if (!pq_) {
    // Only get and done know --delete-completed; other commands complete nothing.
    pq_.emplace(text("db").value_or(""), pq::ConnectionOptions{.schema = args_["schema"].as<std::string>(),
                                                                .keep_completed = !has("delete-completed")});
  }
  return *pq_;
}

auto Context::state_of(std::int64_t id) -> std::string {
  auto job = pq().job(id);
  return job ? fmt::format("job {} is {}", id, pq::to_string(job->state)) : fmt::format("job {} not found", id);
}

}  // namespace pq_cli
