// No double claim: 32 claimers in 4 processes drain 50,000 jobs without faults; a ledger of what each was
// given shows every (job, attempt) exactly once.
#include <algorithm>
#include <map>
#include <sstream>

#include "chaos.hpp"

using namespace std::chrono_literals;

TEST_SUITE("claims") {
  TEST_CASE("32 claimers in 4 processes on 50,000 jobs: every (job, attempt) claimed exactly once") {
    constexpr int kJobs = 50000;
    constexpr int kProcesses = 4;
    auto pq = test::fresh();
    for (int batch = 0; batch < kJobs / 5000; ++batch) {
      pq["claims"].put_many(std::vector<std::string>(5000, chaos::args()), {.kind = "claim"});
    }
    const auto began = std::chrono::steady_clock::now();
    std::vector<std::string> ledgers;
    std::vector<std::unique_ptr<test::Child>> claimers;
    for (int p = 0; p < kProcesses; ++p) {
      ledgers.push_back(test::scratch("ledger"));
      claimers.push_back(std::make_unique<test::Child>(
          std::vector<std::string>{test::built("PQ_CHAOS_CLAIMER_BIN"), test::server().url(), pq.options().schema,
                                   "claims", ledgers.back()},
          std::vector<std::string>{}, test::scratch("claimer.log")));
    }
    for (auto& claimer : claimers) {
      const auto status = claimer->wait(240s);
      INFO(claimer->output());
      CHECK(status == 0);
    }
    const auto seconds =
        std::chrono::duration<double>(std::chrono::steady_clock::now() - began).count();

    std::map<std::pair<std::int64_t, int>, int> claims;
    std::map<std::string, int> by_path;
    std::size_t lines = 0;
    for (const auto& ledger : ledgers) {
      std::istringstream in(test::read_file(ledger));
      std::int64_t id = 0;
      int attempt = 0;
      std::string path;
      while (in >> id >> attempt >> path) {
        ++claims[{id, attempt}];
        ++by_path[path];
        ++lines;
      }
    }
    CHECK(lines == kJobs);
    CHECK(claims.size() == kJobs);
    CHECK(std::all_of(claims.begin(), claims.end(), [](const auto& claim) { return claim.second == 1; }));
    CHECK(chaos::number(pq, "select count(*) from " + chaos::table(pq, "jobs") +
                                " where state = 'completed' and attempt = 1") == kJobs);
    // The ledger names the very jobs that exist, not merely as many.
    CHECK(chaos::number(pq, "select count(*) from " + chaos::table(pq, "jobs")) ==
          static_cast<std::int64_t>(claims.size()));
    CHECK(claims.begin()->first.first ==
          chaos::number(pq, "select min(id) from " + chaos::table(pq, "jobs")));
    CHECK(claims.rbegin()->first.first ==
          chaos::number(pq, "select max(id) from " + chaos::table(pq, "jobs")));
    MESSAGE("claims: " << kJobs << " jobs by 32 claimers in " << kProcesses << " processes in " << seconds << " s: "
                       << by_path["get"] << " through Queue::get, " << by_path["worker"] << " through pq::Worker");
  }
}
