// Owns a pq::testing::TempPostgres and ends without destroying it, for the testing suite: prints
// "ready <postmaster pid> <directory>", then, by its argument, throws out of main ("throw") or waits to be
// killed ("wait", at most a minute).
#include <sys/resource.h>

#include <chrono>
#include <cstdio>
#include <fstream>
#include <stdexcept>
#include <string>
#include <thread>

#include "pq/testing.hpp"

auto main(int argc, char** argv) -> int {
  const rlimit no_core{0, 0};
  ::setrlimit(RLIMIT_CORE, &no_core);  // the abort of an uncaught exception is expected here
  const std::string mode = argc > 1 ? argv[1] : "";
  if (mode != "throw" && mode != "wait") {
    std::fprintf(stderr, "usage: temp-owner throw|wait\n");
    return 2;
  }
  pq::testing::TempPostgres server({.settings = {}, .use_environment = false});
  std::string pid;
  std::getline(std::ifstream(server.directory() + "/data/postmaster.pid"), pid);
  std::printf("ready %s %s\n", pid.c_str(), server.directory().c_str());
  std::fflush(stdout);
  if (mode == "throw") throw std::runtime_error("thrown out of main on purpose");
  std::this_thread::sleep_for(std::chrono::minutes(1));
  return 1;
}
