#include <atomic>
#include <string>
#include <thread>
#include <vector>

#include "support.hpp"

using namespace std::chrono_literals;

namespace {

auto data_of(const std::optional<pq::Job>& job) -> std::string { return job ? job->data : "(none)"; }

}  // namespace

TEST_SUITE("queue") {
  TEST_CASE("lease runs a job under a lease; its token completes, fails or releases it once") {
    auto pq = test::fresh();
    auto q = pq["leased"];
    auto id = q.put("1", {.max_attempts = 2});
    CHECK_FALSE(q.lease(30s, 0s) == std::nullopt);
    CHECK_FALSE(q.lease(30s, 0s));
    auto job = pq.job(id);
    REQUIRE(job->locked_by);
    const auto token = "1." + *job->locked_by;
    CHECK(job->state == pq::JobState::running);
    CHECK(pq::release_lease(pq, id, token) == pq::LeaseResult::released);
    CHECK(pq.job(id)->attempt == 0);
    CHECK(pq::release_lease(pq, id, token) == pq::LeaseResult::lost);

    auto leased = q.lease(30s, 0s);
    REQUIRE(leased);
    CHECK(leased->job.id == id);
    CHECK(leased->token.starts_with("1."));
    CHECK(pq::fail_lease(pq, id, leased->token, "first") == pq::LeaseResult::retrying);
    CHECK(pq::fail_lease(pq, id, leased->token, "again") == pq::LeaseResult::lost);
    test::force_job(pq, id, "state = 'available', schedule_at = now()");
    leased = q.lease(30s, 0s);
    REQUIRE(leased);
    CHECK(leased->token.starts_with("2."));
    CHECK_THROWS_AS(pq::fail_lease(pq, id, leased->token, "\xff"), pq::UsageError);
    CHECK(pq::fail_lease(pq, id, leased->token, "last") == pq::LeaseResult::failed);
    job = pq.job(id);
    CHECK(job->state == pq::JobState::failed);
    CHECK(pq::error_history(*job).size() == 2);

    auto other = q.put("2");
    leased = q.lease(30s, 0s);
    REQUIRE(leased);
    CHECK(pq::complete_lease(pq, other, leased->token) == pq::LeaseResult::completed);
    CHECK(pq::complete_lease(pq, other, leased->token) == pq::LeaseResult::lost);
    CHECK(test::state_of(pq, other) == pq::JobState::completed);
    CHECK_THROWS_AS(pq::complete_lease(pq, other, "x"), pq::UsageError);
    CHECK_THROWS_AS(q.lease(0s, 0s), pq::UsageError);
  }

  TEST_CASE("put and get round-trip a job") {
    auto pq = test::fresh();
    auto apples = pq["apples"];
    auto id = apples.put(R"({"kind": "Cox", "n": [1, 2.5, true, null]})");
    CHECK(id > 0);
    CHECK(apples.size() == 1);
    auto job = apples.get(0s);
    REQUIRE(job);
    CHECK(job->id == id);
    CHECK(job->queue == "apples");
    CHECK(job->data == R"({"n": [1, 2.5, true, null], "kind": "Cox"})");  // jsonb's normal form
    CHECK(job->state == pq::JobState::completed);
    CHECK(job->attempt == 1);
    CHECK(job->finished_at.has_value());
    CHECK(job->enqueued_at <= *job->finished_at);
    CHECK(apples.size() == 0);
    CHECK_FALSE(apples.get(0s));
    auto stored = pq.job(id);
    REQUIRE(stored);
    CHECK(stored->state == pq::JobState::completed);
  }

  TEST_CASE("jobs come out first in, first out") {
    auto pq = test::fresh();
    auto q = pq["fifo"];
    for (int i = 0; i < 20; ++i) q.put(std::to_string(i));
    for (int i = 0; i < 20; ++i) CHECK(data_of(q.get(0s)) == std::to_string(i));
  }

  TEST_CASE("priority first, then expected_at (none last), then id") {
    auto pq = test::fresh();
    auto q = pq["order"];
    q.put(R"("p0 none")");
    q.put(R"("p0 in 2h")", {.expected_at = 2h});
    q.put(R"("p0 in 1h")", {.expected_at = 1h});
    q.put(R"("p-5")", {.priority = -5});
    q.put(R"("p1 soon")", {.expected_at = 1s, .priority = 1});
    q.put(R"("p0 at past")", {.expected_at = pq::Clock::now() - 1h});
    q.put(R"("p0 none again")");
    const std::vector<std::string> expected{R"("p-5")",  R"("p0 at past")",     R"("p0 in 1h")", R"("p0 in 2h")",
                                            R"("p0 none")", R"("p0 none again")", R"("p1 soon")"};
    for (const auto& want : expected) CHECK(data_of(q.get(0s)) == want);
  }

  // As the pq seed's len(): what a get could take now. The seed's own scenario: a job scheduled in the future
  // is not counted until it falls due.
  TEST_CASE("size counts the jobs a get could take now; count says how many are in each state") {
    auto pq = test::fresh();
    auto q = pq["sized"];
    q.put("{}");
    const auto due = q.put("{}", {.schedule_at = 1h});
    q.put("{}", {.schedule_at = 1h});
    const auto taken = q.put("{}", {.priority = -1});
    pq["elsewhere"].put("{}");
    CHECK(q.get(0s)->id == taken);
    CHECK(q.size() == 1);
    test::exec(pq, "update " + test::jobs_table(pq) + " set schedule_at = now() - interval '1 second' where id = " +
                       std::to_string(due));
    CHECK(q.size() == 2);  // due, though not promoted yet: a get would take it
    CHECK(q.count(pq::JobState::available) == 1);
    CHECK(q.count(pq::JobState::scheduled) == 2);
    CHECK(q.count(pq::JobState::completed) == 1);
    CHECK(q.count(pq::JobState::failed) == 0);
    CHECK(q.get(0s).has_value());
    CHECK(q.get(0s).has_value());  // the due one, promoted by the get
    CHECK(q.size() == 0);
    CHECK(q.count(pq::JobState::scheduled) == 1);
  }

  TEST_CASE("scheduled jobs stay invisible until due; a blocking get promotes and wakes for them") {
    auto pq = test::fresh();
    auto q = pq["later"];
    q.put(R"("later")", {.schedule_at = 1500ms});
    q.put(R"("much later")", {.schedule_at = 1h});
    q.put(R"("at a time point")", {.schedule_at = pq::Clock::now() + 1h});
    CHECK(q.size() == 0);  // none a get could take now
    CHECK(q.count(pq::JobState::scheduled) == 3);
    CHECK_FALSE(q.get(0s));
    auto scheduled = test::scalar(pq, "select count(*) from \"" + pq.options().schema +
                                          "\".jobs where state = 'scheduled'");
    CHECK(scheduled == "3");
    // No scheduler runs here: the get itself must promote the job when it falls due.
    auto job = q.get(30s);
    REQUIRE(job);
    CHECK(job->data == R"("later")");
    CHECK(job->schedule_at <= *job->attempted_at);
    CHECK_FALSE(q.get(0s));
  }

  TEST_CASE("a past schedule_at is available at once") {
    auto pq = test::fresh();
    auto q = pq["past"];
    q.put("1", {.schedule_at = pq::Clock::now() - 1min});
    q.put("2", {.schedule_at = -5s});
    CHECK(data_of(q.get(0s)) == "1");
    CHECK(data_of(q.get(0s)) == "2");
  }

  TEST_CASE("get waits as asked and no longer than needed") {
    auto pq = test::fresh();
    auto q = pq["empty"];
    auto started = std::chrono::steady_clock::now();
    CHECK_FALSE(q.get(0s));
    CHECK_FALSE(q.get(300ms));
    CHECK(std::chrono::steady_clock::now() - started >= 300ms);
    q.put("1");
    CHECK(q.get(pq::forever));
  }

  TEST_CASE("a blocked get is woken by a put on another connection, not by its poll") {
    // With a one-minute poll and a 30 s wait, only the notification can deliver the job before the wait ends.
    auto pq = test::fresh({.poll_interval = 60s});
    pq::PQ producer{test::server().url(), {.schema = pq.options().schema}};
    std::atomic<bool> waiting{false};
    std::optional<pq::Job> got;
    std::chrono::steady_clock::duration woke_after{};
    std::thread consumer([&] {
      waiting = true;
      auto job = pq["wake"].get(30s);
      got = job;
    });
    REQUIRE(test::wait_until([&] { return waiting.load(); }));
    std::this_thread::sleep_for(200ms);  // let it reach its sleep; a missed wake-up would then cost 30 s
    auto put_at = std::chrono::steady_clock::now();
    producer["other queue"].put("0");  // a notification for another queue must not confuse it
    producer["wake"].put(R"("hello")");
    consumer.join();
    woke_after = std::chrono::steady_clock::now() - put_at;
    REQUIRE(got);
    CHECK(got->data == R"("hello")");
    CHECK(woke_after < 20s);
    MESSAGE("woken "
            << std::chrono::duration_cast<std::chrono::microseconds>(woke_after).count() << " us after the put");
  }

  TEST_CASE("without LISTEN a blocking get still finds jobs by polling") {
    auto pq = test::fresh({.listen = false, .poll_interval = 100ms});
    std::thread producer([&] {
      std::this_thread::sleep_for(300ms);
      pq["poll"].put("42");
    });
    auto job = pq["poll"].get(30s);
    producer.join();
    CHECK(data_of(job) == "42");
  }

  TEST_CASE("size, clear and update") {
    auto pq = test::fresh();
    auto q = pq["misc"];
    auto first = q.put("1");
    q.put("2", {.schedule_at = 1h});
    pq["neighbour"].put("3");
    CHECK(q.size() == 1);  // the scheduled one is not due
    CHECK(q.update(first, R"({"changed":true})"));
    CHECK_FALSE(pq["neighbour"].update(first, "0"));  // another queue's job
    CHECK_FALSE(q.update(first + 1000, "0"));
    auto job = q.get(0s);
    REQUIRE(job);
    CHECK(job->data == R"({"changed": true})");
    CHECK_FALSE(q.update(first, "0"));  // taken already
    CHECK(q.clear() == 2);
    CHECK(q.size() == 0);
    CHECK(pq["neighbour"].size() == 1);
  }

  TEST_CASE("iterating a queue yields its jobs; jobs(wait) ends when it runs dry") {
    auto pq = test::fresh();
    auto q = pq["iter"];
    for (int i = 0; i < 5; ++i) q.put(std::to_string(i));
    int seen = 0;
    for (pq::Job& job : q) {
      CHECK(job.data == std::to_string(seen));
      if (++seen == 3) break;
    }
    for (const auto& job : q.jobs(0s)) CHECK(job.data == std::to_string(seen++));
    CHECK(seen == 5);
  }

  TEST_CASE("queue names of any text round-trip") {
    auto pq = test::fresh();
    for (const std::string& name : std::vector<std::string>{"with space", "quote'\"both", "semi;colon -- comment", "$1 dollar",
                             "unicodé 🍏 ñ", "back\\slash", "x", std::string(128, 'q')}) {
      CAPTURE(name);
      test::check_round_trip(pq[name]);
    }
  }

  TEST_CASE("put_many inserts in bulk, in order, in one statement") {
    auto pq = test::fresh();
    auto q = pq["bulk"];
    std::vector<std::string> jobs;
    for (int i = 0; i < 100000; ++i) jobs.push_back(R"({"n":)" + std::to_string(i) + R"(,"s":"a\"b\\c"})");
    auto ids = q.put_many(jobs);
    REQUIRE(ids.size() == jobs.size());
    for (std::size_t i = 1; i < ids.size(); ++i) REQUIRE(ids[i] > ids[i - 1]);
    CHECK(q.size() == 100000);
    auto first = q.get(0s);
    REQUIRE(first);
    CHECK(first->id == ids.front());
    CHECK(first->data == R"({"n": 0, "s": "a\"b\\c"})");
    CHECK(q.put_many(std::vector<std::string>{}).empty());
    auto scheduled = q.put_many(std::vector<std::string>{"1", "2"}, {.schedule_at = 1h, .priority = 3});
    CHECK(pq.job(scheduled[1])->state == pq::JobState::scheduled);
    CHECK(pq.job(scheduled[1])->priority == 3);
  }
}
