// One connection to the server: the only code that runs statements through libpq.
#pragma once

#include <libpq-fe.h>

#include <chrono>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <unordered_set>
#include <vector>

#include "pg/handle.hpp"
#include "pg/params.hpp"
#include "pg/result.hpp"
#include "sql_text.hpp"

namespace pq {
class Error;
}

namespace pq::pg {

class Statements;

enum class Format : int { text = 0, binary = 1 };

/// What ended a wait on the session's socket.
struct Wake {
  std::vector<std::string> payloads;  ///< notifications received (empty on timeout or wake_fd)
  bool woken = false;                 ///< wake_fd became readable
};

class Session {
 public:
  /// Connects; throws pq::Error (connection_lost) with the password scrubbed from libpq's message.
  explicit Session(const std::string& conninfo);
  /// A connection the application owns and lends for a few statements: pq neither closes it nor changes
  /// its settings (notice processor included). Throws pq::UsageError unless it is open and idle for a command.
  static auto borrow(PGconn* conn) -> Session;

  /// The statement texts of one schema, and whether to prepare them by name.
  void attach(std::shared_ptr<const Statements> statements, bool prepare);

  /// Runs an embedded statement; rows come back in binary format.
  auto run(const sql::Statement& statement, const Params& params = {}) -> Result;
  /// Runs ad-hoc SQL with parameters through the unnamed statement.
  auto exec(std::string_view sql, const Params& params, Format format, std::string_view name = {}) -> Result;
  /// Runs a script of one or more statements without parameters (migrations, BEGIN, COMMIT).
  void exec_script(std::string_view sql, std::string_view name);

  /// Opens a transaction block without a round trip of its own: BEGIN goes out with the next statement, in
  /// one pipeline.
  void begin();
  /// Ends the transaction block with COMMIT or ROLLBACK (`sql`); nothing at all goes out when no statement ran
  /// since begin().
  void end(std::string_view sql, std::string_view name);

  auto quote_identifier(std::string_view name) -> std::string;
  auto quote_literal(std::string_view text) -> std::string;

  /// LISTEN on a channel, once per session.
  void listen(std::string_view channel);
  [[nodiscard]] auto listening(std::string_view channel) const -> bool;
  /// Waits until a notification arrives, `wake_fd` (if >= 0) becomes readable, or the deadline passes.
  auto wait(std::optional<std::chrono::steady_clock::time_point> deadline, int wake_fd = -1) -> Wake;

  /// Reads whatever the server sent while the session sat idle; false when that was the connection's end
  /// (a restarted or terminated server), so a pool never hands out a dead session. Notifications that
  /// arrived meanwhile are dropped: they are hints for a wait long over, and kept they would pile up.
  auto alive() -> bool;
  /// The connection failed; the session must be discarded.
  [[nodiscard]] auto broken() const noexcept -> bool;
  /// Not inside a transaction block, nor about to open one: safe to hand to another user.
  [[nodiscard]] auto idle() const noexcept -> bool;
  /// Inside a transaction block that an error has aborted: only ROLLBACK is accepted.
  [[nodiscard]] auto aborted() const noexcept -> bool;
  [[nodiscard]] auto backend_pid() const noexcept -> int { return PQbackendPID(conn_.get()); }
  [[nodiscard]] auto statements() const noexcept -> const Statements& { return *statements_; }

 private:
  Session() = default;
  auto check(PGresult* raw, std::string_view name) -> Result;
  /// Sends BEGIN, then the command `send` sends, in one pipeline; returns the command's result.
  template <class Send>
  auto after_begin(Send&& send, std::string_view name) -> Result;
  [[nodiscard]] auto failure(const PGresult* result, std::string_view name) const -> Error;
  auto take_notifications() -> std::vector<std::string>;

  ConnHandle conn_;
  std::vector<std::string> secrets_;  // scrubbed from every message this session produces
  std::shared_ptr<const Statements> statements_;
  bool prepare_ = true;
  bool begin_pending_ = false;
  std::unordered_set<std::string_view> prepared_;  // names point into the embedded statement table
  std::unordered_set<std::string> listening_;
};

}  // namespace pq::pg
