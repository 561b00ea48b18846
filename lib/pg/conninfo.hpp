// Connection strings: resolution of the default, and redaction of passwords for messages and logs.
#pragma once

#include <string>
#include <string_view>
#include <vector>

namespace pq::pg {

/// "" becomes DATABASE_URL when set, else stays "" (libpq's PG* variables).
auto resolve_conninfo(std::string_view conninfo) -> std::string;
/// A printable form of the target: host, port, dbname and user, never the password.
auto describe_conninfo(std::string_view conninfo) -> std::string;
/// Every form of password the connection string carries (as parsed, and as written in a URI), and
/// PGPASSWORD: what must never appear in a message.
auto secrets_of(std::string_view conninfo) -> std::vector<std::string>;
/// Overwrites with '*' every password that the connection string `text` carries as written (see
/// pq::hide_password_in_argv); its length stays.
void mask_password(char* text);
/// `text` with every occurrence of each secret replaced by "***".
auto scrub(std::string text, const std::vector<std::string>& secrets) -> std::string;

}  // namespace pq::pg
