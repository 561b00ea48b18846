// Connection strings: resolution of the default, and redaction of passwords for messages and logs.
#pragma once

#include <string>
#include <string_view>

namespace pq::pg {

/// "" becomes DATABASE_URL when set, else stays "" (libpq's PG* variables).
auto resolve_conninfo(std::string_view conninfo) -> std::string;
/// A printable form of the target: host, port, dbname and user, never the password.
auto describe_conninfo(std::string_view conninfo) -> std::string;
/// The password the connection string carries, or PGPASSWORD, or "".
auto password_of(std::string_view conninfo) -> std::string;
/// `text` with every occurrence of `secret` replaced by "***".
auto scrub(std::string text, std::string_view secret) -> std::string;

}  // namespace pq::pg
