#include "pg/conninfo.hpp"

#include <libpq-fe.h>

#include <cstdlib>

#include "pg/handle.hpp"

namespace pq::pg {
namespace {

auto parse(std::string_view conninfo) -> ConninfoHandle {
  char* error = nullptr;
  ConninfoHandle options(PQconninfoParse(std::string(conninfo).c_str(), &error));
  CharHandle owned_error(error);
  return options;
}

auto env(const char* name) -> std::string {
  const char* value = std::getenv(name);
  return value != nullptr ? value : "";
}

}  // namespace

auto resolve_conninfo(std::string_view conninfo) -> std::string {
  if (!conninfo.empty()) return std::string(conninfo);
  return env("DATABASE_URL");
}

auto describe_conninfo(std::string_view conninfo) -> std::string {
  auto options = parse(conninfo);
  if (!options) return "(unparsable connection string)";
  std::string host, port, dbname, user;
  for (auto* option = options.get(); option->keyword != nullptr; ++option) {
    std::string_view keyword = option->keyword;
    std::string value = option->val != nullptr ? option->val : "";
    if (keyword == "host" || keyword == "hostaddr") {
      if (host.empty()) host = value;
    } else if (keyword == "port") {
      port = value;
    } else if (keyword == "dbname") {
      dbname = value;
    } else if (keyword == "user") {
      user = value;
    }
  }
  if (host.empty()) host = env("PGHOST");
  if (port.empty()) port = env("PGPORT");
  if (dbname.empty()) dbname = env("PGDATABASE");
  if (user.empty()) user = env("PGUSER");
  std::string out = "database";
  if (!dbname.empty()) out += " \"" + dbname + "\"";
  if (!user.empty()) out += " as \"" + user + "\"";
  out += host.empty() ? " on the default socket" : " at " + host;
  if (!port.empty()) out += ":" + port;
  return out;
}

auto password_of(std::string_view conninfo) -> std::string {
  if (auto options = parse(conninfo)) {
    for (auto* option = options.get(); option->keyword != nullptr; ++option) {
      if (std::string_view(option->keyword) == "password" && option->val != nullptr && *option->val != 0) {
        return option->val;
      }
    }
  }
  return env("PGPASSWORD");
}

auto scrub(std::string text, std::string_view secret) -> std::string {
  if (secret.empty()) return text;
  for (auto at = text.find(secret); at != std::string::npos; at = text.find(secret, at + 3)) {
    text.replace(at, secret.size(), "***");
  }
  return text;
}

}  // namespace pq::pg
