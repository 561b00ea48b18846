// The embedded SQL of one schema: templates rendered once with the libpq-quoted schema and channel.
#pragma once

#include <cstdint>
#include <string>
#include <string_view>
#include <unordered_map>
#include <vector>

#include "sql_text.hpp"

namespace pq::pg {

class Session;

class Statements {
 public:
  /// Quotes through `session` (libpq needs a connection to know the encoding).
  Statements(Session& session, std::string_view schema);

  [[nodiscard]] auto text(const sql::Statement& statement) const -> const std::string&;
  /// Renders any template (migrations) for this schema.
  [[nodiscard]] auto render(std::string_view sql_template) const -> std::string;

  [[nodiscard]] auto schema() const noexcept -> const std::string& { return schema_; }
  [[nodiscard]] auto quoted_schema() const noexcept -> const std::string& { return quoted_schema_; }
  /// The NOTIFY channel of this schema, unquoted.
  [[nodiscard]] auto channel() const noexcept -> const std::string& { return channel_; }

 private:
  std::string schema_;
  std::string quoted_schema_;
  std::string channel_;
  std::string quoted_channel_;
  std::unordered_map<std::string_view, std::string> texts_;
};

/// The NOTIFY channel of a schema: one per schema, the queue name as payload (see wake_payload).
auto channel_of(std::string_view schema) -> std::string;

/// What a NOTIFY on a schema's channel says about the jobs of one queue that became available. Its payload is
/// the queue's name (which holds no control characters), a tab, and either the lowest id of the new jobs, when
/// they all have priority 0 and no expected_at and so sort after every job already there with a lower id, or
/// "before": jobs that may sort anywhere (a priority or expected_at of their own, or old ids back: promoted,
/// requeued, released; the SQL that notifies writes E'\tbefore' itself). A payload with neither counts as
/// "before". A worker claims after the last job it claimed, and goes back for what a notification announces
/// before that place (lib/worker/fetcher.cpp).
struct Notified {
  std::string queue;
  bool before = true;
  std::int64_t first_id = 0;  ///< when not `before`
  /// Takes in another notification of the same queue: the lower id, or `before` if either is.
  void merge(const Notified& other);
};
/// Adds `notified` to the one of its queue in `pending`, or as its queue's first.
void add_notified(std::vector<Notified>& pending, const Notified& notified);
auto wake_payload(const Notified& notified) -> std::string;
auto parse_payload(std::string_view payload) -> Notified;

}  // namespace pq::pg
