// Built by tests/install/check.sh against an installed pq, through pkg-config only.
#include <pq/pq.hpp>
#include <pq/testing.hpp>

#include <cstdio>

auto main() -> int {
  pq::testing::TempPostgres server;
  pq::PQ pq{server.url()};
  pq.create();
  auto id = pq["installed"].put(R"({"ok":true})");
  auto job = pq["installed"].get(std::chrono::seconds(0));
  if (!job || job->id != id) return 1;
  std::printf("%s\n", job->data.c_str());
  return 0;
}
