#include "pg/statements.hpp"

#include <fmt/core.h>

#include <algorithm>
#include <charconv>

#include "pg/session.hpp"
#include "pq/error.hpp"

namespace pq::pg {
auto channel_of(std::string_view schema) -> std::string { return fmt::format("{}.jobs", schema); }

void Notified::merge(const Notified& other) {
  before = before || other.before;
  first_id = std::min(first_id, other.first_id);
}

void add_notified(std::vector<Notified>& pending, const Notified& notified) {
  auto same = std::find_if(pending.begin(), pending.end(),
                           [&](const Notified& one) { return one.queue == notified.queue; });
  if (same == pending.end()) {
    pending.push_back(notified);
  } else {
    same->merge(notified);
  }
}

auto wake_payload(const Notified& notified) -> std::string {
  if (notified.before) return fmt::format("{}\tbefore", notified.queue);
  return fmt::format("{}\t{}", notified.queue, notified.first_id);
}

auto parse_payload(std::string_view payload) -> Notified {
  const auto tab = payload.rfind('\t');
  if (tab == std::string_view::npos) return {std::string(payload)};
  Notified notified{std::string(payload.substr(0, tab))};
  const auto mark = payload.substr(tab + 1);
  const auto [end, error] = std::from_chars(mark.data(), mark.data() + mark.size(), notified.first_id);
  notified.before = error != std::errc{} || end != mark.data() + mark.size();
  return notified;
}

Statements::Statements(Session& session, std::string_view schema)
    : schema_(schema),
      quoted_schema_(session.quote_identifier(schema)),
      channel_(channel_of(schema)),
      quoted_channel_(session.quote_literal(channel_)) {
  for (const auto& statement : sql::statements()) texts_.emplace(statement.name, render(statement.text));
}

auto Statements::text(const sql::Statement& statement) const -> const std::string& {
  auto found = texts_.find(statement.name);
  if (found == texts_.end()) throw Error(fmt::format("no embedded statement '{}'", statement.name));
  return found->second;
}

auto Statements::render(std::string_view sql_template) const -> std::string {
  // One pass per token over the template; substituted text is never scanned again, so a schema name that
  // itself contains "@channel@" stays inert inside its quotes.
  constexpr std::string_view kSchema = "@schema@";
  constexpr std::string_view kChannel = "@channel@";
  std::string out;
  out.reserve(sql_template.size() + 64);
  for (std::size_t at = 0; at < sql_template.size();) {
    auto rest = sql_template.substr(at);
    if (rest.starts_with(kSchema)) {
      out += quoted_schema_;
      at += kSchema.size();
    } else if (rest.starts_with(kChannel)) {
      out += quoted_channel_;
      at += kChannel.size();
    } else {
      out += sql_template[at++];
    }
  }
  return out;
}

}  // namespace pq::pg
