// What pq's command-line tools share: how an error ends them, and the database they work on.
#pragma once

#include <cxxopts.hpp>
#include <fmt/core.h>

#include <exception>
#include <memory>
#include <string>

#include "pq/cli.hpp"
#include "pq/error.hpp"
#include "pq/testing.hpp"

namespace pq::tools {

/// Runs a tool's body; an error becomes one line on stderr, prefixed with the program's name, and an exit
/// status: 2 for a usage error, 3 for anything else (the database, mostly).
template <class Body>
auto guarded_main(const char* program, Body&& body) -> int {
  try {
    return body();
  } catch (const cxxopts::exceptions::exception& error) {
    fmt::print(stderr, "{}: {}\n", program, one_line(error.what()));
    return 2;
  } catch (const UsageError& error) {
    fmt::print(stderr, "{}: {}\n", program, one_line(error.what()));
    return 2;
  } catch (const std::exception& error) {
    fmt::print(stderr, "{}: {}\n", program, one_line(error.what()));
    return 3;
  }
}

/// The database a tool works on: the one its --db names, else a throwaway PostgreSQL that lives as long as this.
struct Database {
  std::unique_ptr<testing::TempPostgres> server;  ///< set when the database is a throwaway one
  std::string url;
};

inline auto given_or_throwaway(const std::string& db) -> Database {
  if (!db.empty()) return {nullptr, db};
  fmt::print(stderr, "starting a throwaway PostgreSQL ...\n");
  auto server = std::make_unique<testing::TempPostgres>(testing::TempPostgresOptions{.settings = {}, .use_environment = false});
  auto url = server->url();
  return {std::move(server), std::move(url)};
}

}  // namespace pq::tools
