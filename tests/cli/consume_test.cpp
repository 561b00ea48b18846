// pq get as people and scripts use it: taking, keeping, waiting for and leasing jobs, and what happens to a
// job it cannot write out, checked through the built binary.
#include <string>

#include "cli/cli.hpp"
#include "support.hpp"

using namespace cli;
using namespace std::chrono_literals;

TEST_SUITE("cli") {
  TEST_CASE("get keeps the job when it cannot write it out: a full disk, a closed stdout, a closed pipe") {
    auto pq = test::fresh();
    auto id = pq["out"].put(R"({"n":1})");
    for (auto stdout_to : {Stdout::full, Stdout::closed, Stdout::broken}) {
      CAPTURE(static_cast<int>(stdout_to));
      auto outcome = run_to(stdout_to, pq, {"get", "out"});
      check_error(outcome, 3, "cannot write to stdout: ");
      CHECK(outcome.err.find("job " + std::to_string(id) + " stays in the queue") != std::string::npos);
      CHECK(test::state_of(pq, id) == pq::JobState::available);
      check_error(run_to(stdout_to, pq, {"get", "out", "--json"}), 3, "cannot write to stdout: ");
      CHECK(test::state_of(pq, id) == pq::JobState::available);
    }
    CHECK(run(pq, {"get", "out"}).out == "{\"n\": 1}\n");
    CHECK(test::state_of(pq, id) == pq::JobState::completed);
  }

  TEST_CASE("get --lease leases a job for a shell consumer; done and fail finish it, guarded by the token") {
    auto pq = test::fresh();
    auto id = pq["l"].put(R"({"n":1})", {.max_attempts = 2});
    auto got = run(pq, {"get", "l", "--lease", "30s"});
    REQUIRE(got.code == 0);
    auto printed = lines(got.out);
    REQUIRE(printed.size() == 2);
    const auto space = printed[0].find(' ');
    REQUIRE(space != std::string::npos);
    CHECK(printed[0].substr(0, space) == std::to_string(id));
    const auto token = printed[0].substr(space + 1);
    CHECK(token.find(' ') == std::string::npos);
    CHECK(printed[1] == "{\"n\": 1}");
    auto job = pq.job(id);
    CHECK(job->state == pq::JobState::running);
    CHECK(job->attempt == 1);
    CHECK(job->lease_until > pq::Clock::now() + 20s);
    check_error(run(pq, {"get", "l"}), 1, "queue 'l' is empty");

    const auto id_text = std::to_string(id);
    check_error(run(pq, {"done", id_text, "--token", "1.somebody-else"}), 1, "the lease has passed on");
    check_error(run(pq, {"done", id_text}), 2, "done needs --token T");
    check_error(run(pq, {"done", id_text, "--token", "nonsense"}), 2, "bad lease token");
    CHECK(test::state_of(pq, id) == pq::JobState::running);
    CHECK(run(pq, {"fail", id_text, "disk on fire", "--token", token}).out ==
          "job " + id_text + " will run again after a backoff\n");
    job = pq.job(id);
    CHECK(job->state == pq::JobState::scheduled);
    CHECK(job->errors.find("disk on fire") != std::string::npos);
    check_error(run(pq, {"done", id_text, "--token", token}), 1, "the lease has passed on");

    test::force_job(pq, id, "state = 'available', schedule_at = now()");
    auto second = run(pq, {"get", "l", "--lease", "1m", "--json"});
    REQUIRE(second.code == 0);
    CHECK(int64_t(json(second.out)["id"]) == id);
    CHECK(int64_t(json(second.out)["attempt"]) == 2);
    const std::string second_token{std::string_view(json(second.out)["token"])};
    CHECK(second_token != token);
    auto failed = run(pq, {"fail", id_text, "--token", second_token, "--json"});
    CHECK(std::string_view(json(failed.out)["outcome"]) == "failed");
    CHECK(test::state_of(pq, id) == pq::JobState::failed);

    auto other = pq["l"].put("2");
    auto leased = lines(run(pq, {"get", "l", "--lease", "30s"}).out);
    REQUIRE(leased.size() == 2);
    const auto other_token = leased[0].substr(leased[0].find(' ') + 1);
    CHECK(run(pq, {"done", std::to_string(other), "--token", other_token}).out ==
          "job " + std::to_string(other) + " completed\n");
    CHECK(test::state_of(pq, other) == pq::JobState::completed);

    // A lease that lapsed and was rescued, then taken by another consumer: the old token finishes nothing.
    auto third = pq["l"].put("3");
    leased = lines(run(pq, {"get", "l", "--lease", "30s"}).out);
    REQUIRE(leased.size() == 2);
    test::force_job(pq, third, "attempt = 2, locked_by = 'worker-2'");
    check_error(run(pq, {"done", std::to_string(third), "--token", leased[0].substr(leased[0].find(' ') + 1)}), 1,
                "the lease has passed on");
    CHECK(test::state_of(pq, third) == pq::JobState::running);
    check_error(run(pq, {"get", "l", "--lease", "30s", "--keep"}), 2, "give one of --keep and --lease");
  }

  TEST_CASE("get --lease gives the job back when it cannot write it out") {
    auto pq = test::fresh();
    auto id = pq["l"].put("1");
    for (auto stdout_to : {Stdout::full, Stdout::closed, Stdout::broken}) {
      CAPTURE(static_cast<int>(stdout_to));
      check_error(run_to(stdout_to, pq, {"get", "l", "--lease", "30s"}), 3,
                  "job " + std::to_string(id) + " stays in the queue");
      auto job = pq.job(id);
      CHECK(job->state == pq::JobState::available);
      CHECK(job->attempt == 0);
    }
  }

  TEST_CASE("get --keep looks without taking; get --wait waits for a job that falls due") {
    auto pq = test::fresh();
    auto first = id_of(run(pq, {"put", "q", "\"first\""}));
    id_of(run(pq, {"put", "q", "\"second\""}));
    auto peeked = run(pq, {"get", "q", "--keep"});
    CHECK(peeked.code == 0);
    CHECK(peeked.out == "\"first\"\n");
    CHECK(test::state_of(pq, first) == pq::JobState::available);
    CHECK(run(pq, {"get", "q", "--keep", "--json"}).out.find("\"state\":\"available\"") != std::string::npos);
    CHECK(run(pq, {"get", "q", "--wait", "forever"}).out == "\"first\"\n");
    CHECK(run(pq, {"get", "q", "--wait", "5"}).out == "\"second\"\n");
    check_error(run(pq, {"get", "q", "--keep"}), 1, "queue 'q' is empty");
    // No scheduler runs here: the blocking get promotes the job itself when it falls due.
    id_of(run(pq, {"put", "q", "\"soon\"", "--at", "1s"}));
    CHECK(run(pq, {"get", "q", "--wait", "2m"}).out == "\"soon\"\n");
    check_error(run(pq, {"get", "q", "--keep", "--wait", "1"}), 2, "cannot --wait");
    check_error(run(pq, {"get", "q", "--wait", "soon"}), 2, "bad --wait 'soon'");
    // Fractions, as every duration of pq's tools takes them.
    CHECK(run(pq, {"get", "q", "--wait", "0.5"}).code == 1);
    CHECK(run(pq, {"get", "q", "--wait", "1.5s"}).code == 1);
  }

  TEST_CASE("get and done --delete-completed delete the job they complete") {
    auto pq = test::fresh();
    const auto taken = pq["d"].put("1");
    CHECK(run(pq, {"get", "d", "--delete-completed"}).out == "1\n");
    CHECK_FALSE(pq.job(taken));
    const auto leased = pq["d"].put("2");
    auto printed = lines(run(pq, {"get", "d", "--lease", "30s"}).out);
    REQUIRE(printed.size() == 2);
    const auto token = printed[0].substr(printed[0].find(' ') + 1);
    CHECK(run(pq, {"done", std::to_string(leased), "--token", token, "--delete-completed"}).code == 0);
    CHECK_FALSE(pq.job(leased));
  }
}
