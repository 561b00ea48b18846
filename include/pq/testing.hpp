// Test helpers that pq uses for its own suites and offers to applications for theirs.
#pragma once

#include <string>
#include <string_view>
#include <vector>

namespace pq::testing {

struct TempPostgresOptions {
  /// Extra postgresql.conf lines, e.g. "log_statement = 'all'".
  std::vector<std::string> settings;
  /// Use the server named by PQ_TEST_DATABASE_URL when that variable is set.
  bool use_environment = true;
  /// Also listen on 127.0.0.1, where only the `postgres` superuser may log in, with scram-sha-256 and a
  /// random password that tcp_url() carries. Off by default: the server then has only its Unix socket, in a
  /// directory (mode 0700) that only the owner of the cluster and root can enter.
  bool tcp = false;
  /// Keep PostgreSQL's durability defaults (fsync, synchronous_commit, full_page_writes, wal_init_zero on),
  /// as a production server has them. Off by default: tests then run on a server that never waits for a
  /// flush, and a crash of it loses nothing anyone wants.
  bool durable = false;
};

/// A throwaway PostgreSQL cluster: initdb into a temporary directory, started with pg_ctl on its own socket
/// directory and a free port, as the `postgres` user when the process runs as root (PostgreSQL refuses
/// root), stopped and removed when destroyed. Connections through the socket are trusted, as superuser:
/// only the process's user (or, as root, root and `postgres`) can reach it. A watchdog process stops the
/// server and removes the directory when the owning process ends without destroying it (a signal, an
/// uncaught exception). With PQ_TEST_DATABASE_URL set, that server is used instead.
/// Throws pq::Error with the server's log tail when the cluster cannot start.
class TempPostgres {
 public:
  explicit TempPostgres(TempPostgresOptions options = {});
  ~TempPostgres();
  TempPostgres(const TempPostgres&) = delete;
  auto operator=(const TempPostgres&) -> TempPostgres& = delete;

  /// A libpq connection string for the server (Unix socket when the cluster is ours).
  [[nodiscard]] auto url() const -> const std::string& { return url_; }
  /// The same server over TCP on 127.0.0.1, with the superuser's password: empty unless
  /// TempPostgresOptions::tcp. Never log it.
  [[nodiscard]] auto tcp_url() const -> const std::string& { return tcp_url_; }
  /// True when PQ_TEST_DATABASE_URL named the server.
  [[nodiscard]] auto external() const noexcept -> bool { return external_; }
  /// The server's port: its socket's name, and on 127.0.0.1 with TempPostgresOptions::tcp.
  [[nodiscard]] auto port() const noexcept -> int { return port_; }
  /// Directory holding the cluster, its socket and server.log.
  [[nodiscard]] auto directory() const -> const std::string& { return directory_; }
  /// Directory of the PostgreSQL programs used (initdb, pg_ctl, pgbench, ...).
  [[nodiscard]] auto bindir() const -> const std::string& { return bindir_; }

  /// `pg_ctl restart -m fast`: every connection is closed, the data stays.
  void restart();
  /// `pg_ctl stop -m fast`; `start()` brings it back on the same port.
  void stop();
  void start();

 private:
  void run_as_owner(const std::vector<std::string>& argv, const std::string& log) const;
  void start_watchdog();
  void end_watchdog() noexcept;

  std::string url_;
  std::string tcp_url_;
  std::string directory_;
  std::string bindir_;
  int port_ = 0;
  bool external_ = false;
  bool running_ = false;
  int watchdog_pid_ = -1;
  int watchdog_fd_ = -1;  ///< the write end of the watchdog's pipe: its EOF means this process has ended
};

/// A name unique to this process and call, for a test's own schema or queue: `<prefix>_<pid>_<n>`.
auto unique_name(std::string_view prefix) -> std::string;

/// A TCP port on 127.0.0.1 that nothing listens on right now, for a test server of your own (a pooler, a
/// proxy). Throws pq::Error when none can be found.
auto free_port() -> int;

/// The PostgreSQL bin directory: `pg_config --bindir` if it holds initdb, else the newest
/// /usr/lib/postgresql/*/bin. Throws pq::Error when neither exists.
auto postgres_bindir() -> std::string;

}  // namespace pq::testing
