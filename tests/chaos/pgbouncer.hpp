// A PgBouncer in transaction pooling mode in front of the test server, on loopback and a free port, with
// its own configuration in a temporary directory; stopped when destroyed.
#pragma once

#include <memory>
#include <string>

#include "../process.hpp"
#include "pq/testing.hpp"

namespace chaos {

class PgBouncer {
 public:
  /// At most `pool_size` server connections for any number of clients: a client's session state, if pq
  /// relied on any, would land on some other client's server connection.
  PgBouncer(const pq::testing::TempPostgres& server, int pool_size);
  ~PgBouncer();
  PgBouncer(const PgBouncer&) = delete;
  auto operator=(const PgBouncer&) -> PgBouncer& = delete;

  /// A libpq URI through the pooler.
  [[nodiscard]] auto url() const -> const std::string& { return url_; }
  [[nodiscard]] auto log() const -> std::string;

 private:
  std::string directory_;
  std::string url_;
  std::unique_ptr<test::Child> process_;
};

}  // namespace chaos
