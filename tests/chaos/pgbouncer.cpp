#include "pgbouncer.hpp"

#include <pwd.h>
#include <signal.h>
#include <unistd.h>

#include <filesystem>
#include <fstream>
#include <thread>

#include "pq/pq.hpp"

namespace chaos {

PgBouncer::PgBouncer(const pq::testing::TempPostgres& server, int pool_size)
    : directory_((std::filesystem::temp_directory_path() / pq::testing::unique_name("pgbouncer")).string()) {
  std::filesystem::create_directories(directory_);
  if (::geteuid() == 0) {  // it runs as the server's owner and writes its log here
    const passwd* owner = ::getpwnam("postgres");
    if (owner == nullptr || ::chown(directory_.c_str(), owner->pw_uid, owner->pw_gid) != 0) {
      throw std::runtime_error("cannot hand " + directory_ + " to the postgres user");
    }
  }
  const int port = pq::testing::free_port();
  std::ofstream(directory_ + "/userlist.txt") << "\"postgres\" \"\"\n";
  std::ofstream(directory_ + "/pgbouncer.ini")
      << "[databases]\n"
      // The server's socket: its directory is private to the server's owner, as whom PgBouncer runs.
      << "postgres = host=" << server.directory() << " port=" << server.port() << " dbname=postgres user=postgres\n"
      << "[pgbouncer]\n"
      << "listen_addr = 127.0.0.1\n"
      << "listen_port = " << port << "\n"
      << "unix_socket_dir =\n"
      << "auth_type = trust\n"
      << "auth_file = " << directory_ << "/userlist.txt\n"
      << "pool_mode = transaction\n"
      << "default_pool_size = " << pool_size << "\n"
      << "max_db_connections = " << pool_size << "\n"
      << "max_client_conn = 500\n"
      << "logfile = " << directory_ << "/pgbouncer.log\n";
  process_ = std::make_unique<test::Child>(std::vector<std::string>{"/usr/sbin/pgbouncer", directory_ + "/pgbouncer.ini"},
                                           std::vector<std::string>{}, directory_ + "/output.log", true);
  url_ = "postgresql://postgres@127.0.0.1:" + std::to_string(port) + "/postgres";
  const auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(30);
  for (;;) {
    try {
      pq::PQ probe{url_, {.listen = false, .prepare = false}};
      probe.schema_version();
      return;
    } catch (const pq::Error& error) {
      if (std::chrono::steady_clock::now() >= deadline || process_->wait(std::chrono::milliseconds(0))) {
        throw std::runtime_error("PgBouncer did not start: " + std::string(error.what()) + "\n" + log());
      }
      std::this_thread::sleep_for(std::chrono::milliseconds(100));
    }
  }
}

PgBouncer::~PgBouncer() {
  process_->signal(SIGTERM);  // immediate shutdown: the test is over
  process_->wait(std::chrono::seconds(10));
  process_.reset();
  std::error_code ignored;
  std::filesystem::remove_all(directory_, ignored);
}

auto PgBouncer::log() const -> std::string {
  return test::read_file(directory_ + "/pgbouncer.log") + test::read_file(directory_ + "/output.log");
}

}  // namespace chaos
