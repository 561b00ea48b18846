// A bare libpq connection, for the bench's own SQL and the W4 floor's loop. pq-bench speaks to the library
// only through its public API, so it owns its libpq handles itself.
#pragma once

#include <fmt/core.h>
#include <libpq-fe.h>

#include <cstdint>
#include <memory>
#include <string>

#include "pq/error.hpp"

namespace pq::bench {

/// Calls `release` on the handle a std::unique_ptr owns.
template <auto release>
struct Releases {
  template <class Handle>
  void operator()(Handle* handle) const noexcept {
    release(handle);
  }
};

using PgResult = std::unique_ptr<PGresult, Releases<PQclear>>;
using PgNotify = std::unique_ptr<PGnotify, Releases<PQfreemem>>;

class Connection {
 public:
  explicit Connection(const std::string& conninfo) : conn_(PQconnectdb(conninfo.c_str())) {
    if (!conn_ || PQstatus(conn_.get()) != CONNECTION_OK) {
      throw pq::Error(fmt::format("cannot connect: {}", conn_ ? PQerrorMessage(conn_.get()) : "out of memory"));
    }
  }

  /// Runs one or more statements without parameters; returns the last one's result.
  auto exec(const std::string& sql) -> PgResult { return check(PQexec(conn_.get(), sql.c_str())); }
  auto number(const std::string& sql) -> std::int64_t {
    auto result = exec(sql);
    return PQgetisnull(result.get(), 0, 0) != 0 ? 0 : std::stoll(PQgetvalue(result.get(), 0, 0));
  }
  void prepare(const std::string& name, const std::string& sql) {
    check(PQprepare(conn_.get(), name.c_str(), sql.c_str(), 0, nullptr));
  }
  auto run_prepared(const std::string& name) -> PgResult {
    return check(PQexecPrepared(conn_.get(), name.c_str(), 0, nullptr, nullptr, nullptr, 0));
  }
  [[nodiscard]] auto get() const noexcept -> PGconn* { return conn_.get(); }

 private:
  auto check(PGresult* raw) -> PgResult {
    PgResult result(raw);
    auto status = result ? PQresultStatus(result.get()) : PGRES_FATAL_ERROR;
    if (status != PGRES_COMMAND_OK && status != PGRES_TUPLES_OK) {
      throw pq::Error(fmt::format("bench statement failed: {}", PQerrorMessage(conn_.get())));
    }
    return result;
  }

  std::unique_ptr<PGconn, Releases<PQfinish>> conn_;
};

}  // namespace pq::bench
