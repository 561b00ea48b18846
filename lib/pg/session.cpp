#include "pg/session.hpp"

#include <fmt/core.h>
#include <poll.h>

#include <algorithm>
#include <array>
#include <cerrno>
#include <cstring>
#include <vector>

#include "pg/conninfo.hpp"
#include "pg/statements.hpp"
#include "pq/error.hpp"

namespace pq::pg {
namespace {

// SQLSTATEs by which PostgreSQL says the pq schema is missing: undefined_table, undefined_object (the enum
// type), invalid_schema_name.
auto schema_missing(std::string_view sqlstate) -> bool {
  return sqlstate == "42P01" || sqlstate == "42704" || sqlstate == "3F000";
}

// libpq's and the server's messages may span lines ("Connection refused\n\tIs the server running ..."); pq's
// errors are one line, for logs and for the CLI's "pq: ..." line.
auto one_line(std::string_view text) -> std::string {
  std::string joined;
  while (!text.empty()) {
    const auto end = std::min(text.find('\n'), text.size());
    auto line = text.substr(0, end);
    text.remove_prefix(std::min(end + 1, text.size()));
    const auto first = line.find_first_not_of(" \t\r");
    if (first == std::string_view::npos) continue;
    line = line.substr(first, line.find_last_not_of(" \t\r") - first + 1);
    if (!joined.empty()) joined += "; ";
    joined += line;
  }
  return joined;
}

}  // namespace

Session::Session(const std::string& conninfo) : secrets_(secrets_of(conninfo)) {
  // expand_dbname lets `dbname` carry a whole conninfo or URI; empty values fall back to PG* variables.
  const std::array<const char*, 3> keywords{"dbname", "fallback_application_name", nullptr};
  const std::array<const char*, 3> values{conninfo.c_str(), "pq", nullptr};
  conn_.reset(PQconnectdbParams(keywords.data(), values.data(), 1));
  if (!conn_) throw Error("cannot connect: out of memory", "08001");
  if (PQstatus(conn_.get()) != CONNECTION_OK) {
    throw Error(scrub(fmt::format("cannot connect to {}: {}", describe_conninfo(conninfo),
                                  one_line(PQerrorMessage(conn_.get()))),
                      secrets_),
                "08001");
  }
  // libpq prints server notices to stderr by default; in a library they are noise in the application's
  // output (pq's errors carry what matters).
  PQsetNoticeProcessor(conn_.get(), [](void*, const char*) {}, nullptr);
}

auto Session::borrow(PGconn* conn) -> Session {
  if (conn == nullptr) throw UsageError("the connection is null");
  if (PQstatus(conn) != CONNECTION_OK) {
    throw UsageError(fmt::format("the connection is not open: {}", one_line(PQerrorMessage(conn))));
  }
  if (PQisBusy(conn) != 0 || PQpipelineStatus(conn) != PQ_PIPELINE_OFF) {
    throw UsageError("the connection is busy: another command or a pipeline is in progress on it");
  }
  Session session;
  session.conn_ = ConnHandle(conn, ConnDeleter{false});
  return session;
}

void Session::attach(std::shared_ptr<const Statements> statements, bool prepare) {
  statements_ = std::move(statements);
  prepare_ = prepare;
}

auto Session::failure(const PGresult* result, std::string_view name) const -> Error {
  std::string sqlstate;
  std::string message;
  if (result != nullptr && PQresultErrorField(result, PG_DIAG_SQLSTATE) != nullptr) {
    sqlstate = PQresultErrorField(result, PG_DIAG_SQLSTATE);
    // The primary message and hint only: DETAIL may quote row values, which are the application's data.
    message = PQresultErrorField(result, PG_DIAG_MESSAGE_PRIMARY);
    if (const char* hint = PQresultErrorField(result, PG_DIAG_MESSAGE_HINT)) {
      message += fmt::format(" (hint: {})", hint);
    }
  } else {
    message = one_line(PQerrorMessage(conn_.get()));
    if (message.empty()) message = "no result from the server";
    if (broken()) sqlstate = "08006";
  }
  if (statements_ && schema_missing(sqlstate) && name.find('/') != std::string_view::npos) {
    message += fmt::format("; is pq installed in schema \"{}\"? call pq::PQ::create() or run `pq migrate`",
                           statements_->schema());
  }
  if (!name.empty()) message = fmt::format("{}: {}", name, message);
  return Error(scrub(one_line(message), secrets_), sqlstate, std::string(name));
}

auto Session::check(PGresult* raw, std::string_view name) -> Result {
  ResultHandle result(raw);
  auto status = result ? PQresultStatus(result.get()) : PGRES_FATAL_ERROR;
  if (status != PGRES_COMMAND_OK && status != PGRES_TUPLES_OK) throw failure(result.get(), name);
  return Result(std::move(result));
}

template <class Send>
auto Session::after_begin(Send&& send, std::string_view name) -> Result {
  begin_pending_ = false;
  PGconn* conn = conn_.get();
  if (PQenterPipelineMode(conn) == 0 || PQsendQueryParams(conn, "BEGIN", 0, nullptr, nullptr, nullptr, nullptr, 0) == 0 ||
      !send() || PQpipelineSync(conn) == 0) {
    throw failure(nullptr, name);
  }
  // Each command's result is followed by a null; the sync's result ends the pipeline. After a failure the
  // later commands come back as PGRES_PIPELINE_ABORTED, so the first result that is not OK says what went wrong.
  std::vector<ResultHandle> results;
  for (int nulls = 0; nulls < 2;) {
    ResultHandle result(PQgetResult(conn));
    if (!result) {
      if (broken()) break;
      ++nulls;
      continue;
    }
    nulls = 0;
    if (PQresultStatus(result.get()) == PGRES_PIPELINE_SYNC) break;
    results.push_back(std::move(result));
  }
  PQexitPipelineMode(conn);
  if (results.empty()) throw failure(nullptr, name);
  for (auto& result : results) {
    auto status = PQresultStatus(result.get());
    if (status != PGRES_COMMAND_OK && status != PGRES_TUPLES_OK) {
      throw failure(result.get(), &result == &results.front() ? std::string_view("begin") : name);
    }
  }
  return Result(std::move(results.back()));
}

auto Session::run(const sql::Statement& statement, const Params& params) -> Result {
  const std::string& text = statements_->text(statement);
  if (!prepare_) return exec(text, params, Format::binary, statement.name);
  const std::string name(statement.name);
  // Prepared outside any pipeline, once per session: a prepared statement outlives a transaction that fails.
  if (!prepared_.contains(statement.name)) {
    check(PQprepare(conn_.get(), name.c_str(), text.c_str(), 0, nullptr), statement.name);
    prepared_.insert(statement.name);
  }
  if (begin_pending_) {
    return after_begin(
        [&] {
          return PQsendQueryPrepared(conn_.get(), name.c_str(), params.size(), params.values(), nullptr, nullptr,
                                     static_cast<int>(Format::binary)) != 0;
        },
        statement.name);
  }
  return check(PQexecPrepared(conn_.get(), name.c_str(), params.size(), params.values(), nullptr, nullptr,
                              static_cast<int>(Format::binary)),
               statement.name);
}

auto Session::exec(std::string_view sql, const Params& params, Format format, std::string_view name)
    -> Result {
  const std::string text(sql);
  if (begin_pending_) {
    return after_begin(
        [&] {
          return PQsendQueryParams(conn_.get(), text.c_str(), params.size(), nullptr, params.values(), nullptr,
                                   nullptr, static_cast<int>(format)) != 0;
        },
        name);
  }
  return check(PQexecParams(conn_.get(), text.c_str(), params.size(), nullptr, params.values(), nullptr,
                            nullptr, static_cast<int>(format)),
               name);
}

void Session::exec_script(std::string_view sql, std::string_view name) {
  // A script may hold several statements, which a pipeline cannot carry: the pending BEGIN goes first.
  if (begin_pending_) {
    begin_pending_ = false;
    check(PQexec(conn_.get(), "BEGIN"), "begin");
  }
  const std::string text(sql);
  check(PQexec(conn_.get(), text.c_str()), name);
}

void Session::begin() { begin_pending_ = true; }

void Session::end(std::string_view sql, std::string_view name) {
  if (begin_pending_) {
    begin_pending_ = false;  // nothing ran: there is no transaction block to end
    return;
  }
  exec_script(sql, name);
}

auto Session::quote_identifier(std::string_view name) -> std::string {
  CharHandle quoted(PQescapeIdentifier(conn_.get(), name.data(), name.size()));
  if (!quoted) throw Error(fmt::format("cannot quote identifier: {}", one_line(PQerrorMessage(conn_.get())))); 
  return quoted.get();
}

auto Session::quote_literal(std::string_view text) -> std::string {
  CharHandle quoted(PQescapeLiteral(conn_.get(), text.data(), text.size()));
  if (!quoted) throw Error(fmt::format("cannot quote literal: {}", one_line(PQerrorMessage(conn_.get()))));
  return quoted.get();
}

void Session::listen(std::string_view channel) {
  if (listening(channel)) return;
  exec_script("LISTEN " + quote_identifier(channel), "listen");
  listening_.emplace(channel);
}

auto Session::listening(std::string_view channel) const -> bool {
  return listening_.contains(std::string(channel));
}

auto Session::take_notifications() -> std::vector<std::string> {
  std::vector<std::string> payloads;
  while (NotifyHandle notify{PQnotifies(conn_.get())}) payloads.emplace_back(notify->extra);
  return payloads;
}

auto Session::wait(std::optional<std::chrono::steady_clock::time_point> deadline, int wake_fd) -> Wake {
  if (auto payloads = take_notifications(); !payloads.empty()) return {std::move(payloads), false};
  for (;;) {
    int timeout_ms = -1;
    if (deadline) {
      auto left = std::chrono::ceil<std::chrono::milliseconds>(*deadline - std::chrono::steady_clock::now());
      timeout_ms = static_cast<int>(std::max<std::int64_t>(0, left.count()));
    }
    std::array<pollfd, 2> fds{pollfd{PQsocket(conn_.get()), POLLIN, 0}, pollfd{wake_fd, POLLIN, 0}};
    int rc = ::poll(fds.data(), wake_fd >= 0 ? 2 : 1, timeout_ms);
    if (rc < 0) {
      if (errno == EINTR) continue;
      throw Error(fmt::format("poll: {}", std::strerror(errno)));
    }
    if (rc == 0) return {};
    if (wake_fd >= 0 && fds[1].revents != 0) return {{}, true};
    if (fds[0].revents != 0) {
      if (PQconsumeInput(conn_.get()) == 0) throw failure(nullptr, "wait");
      if (auto payloads = take_notifications(); !payloads.empty()) return {std::move(payloads), false};
    }
  }
}

auto Session::alive() -> bool {
  pollfd fd{PQsocket(conn_.get()), POLLIN, 0};
  if (::poll(&fd, 1, 0) > 0 && fd.revents != 0) PQconsumeInput(conn_.get());
  take_notifications();
  return !broken();
}

auto Session::broken() const noexcept -> bool { return PQstatus(conn_.get()) != CONNECTION_OK; }

auto Session::idle() const noexcept -> bool {
  return !begin_pending_ && PQtransactionStatus(conn_.get()) == PQTRANS_IDLE;
}

auto Session::aborted() const noexcept -> bool {
  return PQtransactionStatus(conn_.get()) == PQTRANS_INERROR;
}

}  // namespace pq::pg
