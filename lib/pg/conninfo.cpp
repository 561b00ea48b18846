#include "pg/conninfo.hpp"

#include "pq/cli.hpp"

#include <libpq-fe.h>

#include <algorithm>
#include <cstdlib>
#include <cstring>
#include <span>

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

namespace {

// The password of a URI exactly as written between "user:" and "@". libpq quotes a URI it cannot parse, or
// its malformed part (an invalid percent-encoding), verbatim in its error messages, so this form must be
// scrubbed too: the parsed password is unknown then, and differs from it when percent-encoded.
auto written_uri_password(std::string_view conninfo) -> std::string {
  for (std::string_view scheme : {"postgresql://", "postgres://"}) {
    if (!conninfo.starts_with(scheme)) continue;
    auto rest = conninfo.substr(scheme.size());
    auto end = rest.find_first_of("@/");
    if (end == std::string_view::npos || rest[end] != '@') return "";
    auto userinfo = rest.substr(0, end);
    auto colon = userinfo.find(':');
    return colon == std::string_view::npos ? "" : std::string(userinfo.substr(colon + 1));
  }
  return "";
}

}  // namespace

auto secrets_of(std::string_view conninfo) -> std::vector<std::string> {
  std::vector<std::string> secrets{written_uri_password(conninfo), env("PGPASSWORD")};
  if (auto options = parse(conninfo)) {
    for (auto* option = options.get(); option->keyword != nullptr; ++option) {
      if (std::string_view(option->keyword) == "password" && option->val != nullptr) secrets.emplace_back(option->val);
    }
  }
  std::erase(secrets, "");
  // Longest first, so that a secret containing another is replaced whole, not around the shorter one.
  std::sort(secrets.begin(), secrets.end(), [](const auto& a, const auto& b) { return a.size() > b.size(); });
  return secrets;
}

namespace {

auto is_space(char c) -> bool { return c == ' ' || c == '\t' || c == '\n' || c == '\r' || c == '\f' || c == '\v'; }

// Masks the value of each `password` keyword as written: up to the next '&' in a URI's query, in a key=value
// string up to the next space, or within its quotes.
void mask_keyword_values(std::span<char> text, bool uri) {
  const std::string_view view(text.data(), text.size());
  constexpr std::string_view kKeyword = "password";
  for (auto at = view.find(kKeyword); at != std::string_view::npos; at = view.find(kKeyword, at + 1)) {
    auto value = at + kKeyword.size();
    while (!uri && value < view.size() && is_space(view[value])) ++value;
    if (value >= view.size() || view[value] != '=') continue;
    ++value;
    while (!uri && value < view.size() && is_space(view[value])) ++value;
    if (!uri && value < view.size() && view[value] == '\'') {
      for (++value; value < view.size() && view[value] != '\''; ++value) {
        if (view[value] == '\\' && value + 1 < view.size()) text[value++] = '*';
        text[value] = '*';
      }
      continue;
    }
    for (; value < view.size() && (uri ? view[value] != '&' : !is_space(view[value])); ++value) text[value] = '*';
  }
}

}  // namespace

void mask_password(char* text) {
  const std::span<char> chars(text, std::strlen(text));
  const std::string_view view(text, chars.size());
  const bool uri = view.starts_with("postgresql://") || view.starts_with("postgres://");
  if (uri) {
    const auto written = written_uri_password(view);
    if (!written.empty()) {
      const auto at = view.find(':', view.find("://") + 3) + 1;
      std::fill_n(chars.begin() + static_cast<std::ptrdiff_t>(at), written.size(), '*');
    }
  }
  mask_keyword_values(chars, uri);
}

auto scrub(std::string text, const std::vector<std::string>& secrets) -> std::string {
  for (const auto& secret : secrets) {
    for (auto at = text.find(secret); at != std::string::npos; at = text.find(secret, at + 3)) {
      text.replace(at, secret.size(), "***");
    }
  }
  return text;
}

}  // namespace pq::pg

namespace pq {

void hide_password_in_argv(int argc, char** argv) {
  constexpr std::string_view kOption = "--db";
  for (int i = 1; i < argc; ++i) {
    const std::string_view arg = argv[i];
    if (arg == kOption && i + 1 < argc) {
      pg::mask_password(argv[++i]);
    } else if (arg.starts_with(kOption) && arg.size() > kOption.size() && arg[kOption.size()] == '=') {
      pg::mask_password(argv[i] + kOption.size() + 1);
    } else if (arg == "--") {
      return;  // what follows is no option
    }
  }
}

}  // namespace pq
