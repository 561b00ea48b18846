// The embedded SQL of one schema: templates rendered once with the libpq-quoted schema and channel.
#pragma once

#include <string>
#include <string_view>
#include <unordered_map>

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

/// The NOTIFY channel of a schema: one per schema, the queue name as payload.
auto channel_of(std::string_view schema) -> std::string;

}  // namespace pq::pg
