// pq's repairs as people and scripts use them: retry, cancel and purge, checked through the built binary.
#include <string>
#include <vector>

#include "cli/cli.hpp"
#include "support.hpp"

using namespace cli;
using namespace std::chrono_literals;

TEST_SUITE("cli") {
  TEST_CASE("retry requeues failed jobs, one by id or a queue's") {
    auto pq = test::fresh();
    auto one = pq["r"].put("1");
    auto two = pq["r"].put("2");
    auto three = pq["r"].put("3");
    for (auto id : {one, two, three}) test::force_job(pq, id, test::kFailed);
    auto retried = run(pq, {"retry", std::to_string(one)});
    CHECK(retried.code == 0);
    CHECK(retried.out == "job " + std::to_string(one) + " is available again\n");
    auto job = pq.job(one);
    CHECK(job->state == pq::JobState::available);
    CHECK(job->max_attempts == 4);
    CHECK(job->errors.find("boom") != std::string::npos);
    check_error(run(pq, {"retry", std::to_string(one)}), 1,
                "job " + std::to_string(one) + " is available; only failed or cancelled jobs can be retried");
    check_error(run(pq, {"retry", "999999"}), 1, "job 999999 not found");
    auto all = run(pq, {"retry", "--queue", "r", "--state", "failed"});
    CHECK(all.code == 0);
    CHECK(all.out == "requeued 2 jobs of queue 'r'\n");
    CHECK(test::state_of(pq, three) == pq::JobState::available);
    CHECK(run(pq, {"retry", "--queue", "r", "--json"}).out == "{\"requeued\":0}\n");
    check_error(run(pq, {"retry"}), 2, "retry needs a job ID or --queue");
    check_error(run(pq, {"retry", "1", "--queue", "r"}), 2, "not both");
    check_error(run(pq, {"retry", "--queue", "r", "--state", "running"}), 2, "only failed or cancelled");
  }

  TEST_CASE("cancel ends waiting jobs, asks running ones to stop, and refuses finished ones") {
    auto pq = test::fresh();
    auto waiting = pq["c"].put("1");
    auto running = pq["c"].put("2");
    test::force_job(pq, running, test::kRunning);
    auto cancelled = run(pq, {"cancel", std::to_string(waiting)});
    CHECK(cancelled.code == 0);
    CHECK(cancelled.out == "job " + std::to_string(waiting) + " cancelled\n");
    CHECK(pq.job(waiting)->finished_at);
    auto requested = run(pq, {"cancel", std::to_string(running), "--json"});
    CHECK(requested.code == 0);
    CHECK(std::string_view(json(requested.out)["outcome"]) == "cancel requested");
    auto job = pq.job(running);
    CHECK(job->state == pq::JobState::running);
    CHECK(job->cancel_requested);
    check_error(run(pq, {"cancel", std::to_string(waiting)}), 1, "is cancelled; only scheduled, available or running");
    check_error(run(pq, {"cancel", "999999"}), 1, "job 999999 not found");
    // Cancelled jobs can be retried.
    CHECK(run(pq, {"retry", std::to_string(waiting)}).code == 0);
    CHECK(test::state_of(pq, waiting) == pq::JobState::available);
  }

  TEST_CASE("cancel and purge answer at once when a transaction holds the job") {
    auto pq = test::fresh();
    auto held = pq["t"].put("1");
    auto finished = pq["t"].put("2");
    test::force_job(pq, finished, test::kCompleted);
    auto tx = pq.begin();
    tx.exec("select id from \"" + pq.options().schema + "\".jobs where queue = 't' for update");
    // The transaction stays open while pq runs: were it to wait for the lock, it would not finish in time.
    auto extra = connection(pq);
    std::vector<std::string> cancel{"cancel", std::to_string(held)};
    cancel.insert(cancel.end(), extra.begin(), extra.end());
    check_error(Child(cancel).finish({}, 60s), 1,
                "job " + std::to_string(held) + " runs in a transaction and cannot be cancelled");
    std::vector<std::string> purge{"purge", "--queue", "t"};
    purge.insert(purge.end(), extra.begin(), extra.end());
    auto purged = Child(purge).finish({}, 60s);
    CHECK(purged.code == 0);
    CHECK(purged.out == "deleted 0 jobs of queue 't'; skipped 1 job held by a running transaction\n");
    tx.rollback();
    CHECK(test::state_of(pq, held) == pq::JobState::available);
    CHECK(run(pq, {"cancel", std::to_string(held)}).code == 0);
  }

  TEST_CASE("purge deletes a queue's finished jobs and says how many") {
    auto pq = test::fresh();
    auto q = pq["p"];
    auto waiting = q.put("1");
    test::force_job(pq, q.put("2"), test::kFailed);
    test::force_job(pq, q.put("3"), test::kCompleted);
    pq["other"].put("4");
    REQUIRE(pq["other"].get(0s));
    CHECK(run(pq, {"purge", "--queue", "p", "--older-than", "7d"}).out == "deleted 0 jobs of queue 'p'\n");
    CHECK(run(pq, {"purge", "--queue", "p", "--state", "failed", "--json"}).out ==
          "{\"deleted\":1,\"skipped\":0}\n");
    CHECK(run(pq, {"purge", "--queue", "p", "--dry-run"}).out ==
          "would delete 1 job of queue 'p' (dry run: nothing deleted)\n");
    CHECK(run(pq, {"purge", "--queue", "p"}).out == "deleted 1 job of queue 'p'\n");
    CHECK(pq.job(waiting));
    CHECK(pq["other"].size() == 0);
    CHECK(test::scalar(pq, "select count(*) from \"" + pq.options().schema + "\".jobs") == "2");
    check_error(run(pq, {"purge", "--queue", "p", "--state", "available"}), 2,
                "available jobs are not finished, and purging them loses them; add --force");
    check_error(run(pq, {"purge", "--queue", "p", "--state", "running", "--dry-run"}), 2, "add --force");
    CHECK(pq.job(waiting));
    CHECK(run(pq, {"purge", "--queue", "p", "--state", "available", "--force", "--dry-run"}).out ==
          "would delete 1 job of queue 'p' (dry run: nothing deleted)\n");
    CHECK(run(pq, {"purge", "--queue", "p", "--dry-run", "--json"}).out == "{\"would_delete\":0}\n");
    CHECK(pq.job(waiting));
    CHECK(run(pq, {"purge", "--queue", "p", "--state", "available", "--force"}).out ==
          "deleted 1 job of queue 'p'\n");
    CHECK_FALSE(pq.job(waiting));
    check_error(run(pq, {"purge"}), 2, "purge needs --queue Q");
    check_error(run(pq, {"purge", "--queue", "p", "--older-than", "5x"}), 2, "bad --older-than '5x'");
  }
}
