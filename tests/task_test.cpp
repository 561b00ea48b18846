#include <string>
#include <vector>

#include "support.hpp"
#include "task/retry_policy.hpp"

using namespace std::chrono_literals;

TEST_SUITE("task") {
  TEST_CASE("a task runs here and now, or is pushed as {\"args\":[...]} with its name as kind") {
    auto pq = test::fresh();
    auto add = pq["math"].task("add", [](int a, int b) { return a + b; }, {.max_attempts = 3, .priority = 2});
    CHECK(add(2, 3) == 5);
    auto id = add.push(2, 3);
    auto job = pq.job(id);
    REQUIRE(job);
    CHECK(job->kind == "add");
    CHECK(job->queue == "math");
    CHECK(job->data == R"({"args": [2, 3]})");
    CHECK(job->max_attempts == 3);
    CHECK(job->priority == 2);
    auto later = add.push({.schedule_at = 1min, .priority = -1}, 4, 5);
    CHECK(pq.job(later)->state == pq::JobState::scheduled);
    CHECK(pq.job(later)->priority == -1);
    CHECK(pq.job(later)->max_attempts == 3);
  }

  TEST_CASE("handlers take any json_traits type, and Context& first if they like") {
    auto pq = test::fresh();
    std::string seen;
    auto eat = pq["apples"].task("eat", [&](pq::Context& context, const std::string& kind,
                                            const std::vector<int>& sizes, std::optional<double> weight) {
      seen = kind + ":" + std::to_string(sizes.size()) + ":" + std::to_string(weight.value_or(-1)) + ":" +
             std::to_string(context.attempt()) + ":" + context.job().kind;
      CHECK_FALSE(context.transactional());
      CHECK_THROWS_AS((void)context.transaction(), pq::UsageError);
    });
    eat("Cox", {1, 2}, std::nullopt);
    CHECK(seen == "Cox:2:-1.000000:1:eat");
    auto id = eat.push("Cox", {1, 2, 3}, 1.5);
    CHECK(pq.job(id)->data == R"({"args": ["Cox", [1, 2, 3], 1.5]})");
  }

  TEST_CASE("push inside a transaction commits or rolls back with it") {
    auto pq = test::fresh();
    auto note = pq["notes"].task("note", [](const std::string&) {});
    {
      auto tx = pq.begin();
      note.push(tx, "lost");
    }
    CHECK(pq["notes"].size() == 0);
    auto tx = pq.begin();
    note.push(tx, {.priority = 1}, "kept");
    tx.commit();
    CHECK(pq["notes"].size() == 1);
  }

  TEST_CASE("a duplicate task name in a queue is refused") {
    auto pq = test::fresh();
    pq["q"].task("same", [] {});
    CHECK_THROWS_WITH_AS(pq["q"].task("same", [] {}), "task 'same' is already registered in queue 'q'",
                         pq::UsageError);
    CHECK_NOTHROW(pq["other"].task("same", [] {}));
    CHECK_THROWS_AS(pq["q"].task("bad", [] {}, {.max_attempts = 0}), pq::UsageError);
    CHECK(pq.registry().queues() == std::vector<std::string>{"other", "q"});
  }

  TEST_CASE("arguments are checked against the handler") {
    pq::Registry registry;
    registry.task("q", "pair", [](int, const std::string&) {});
    auto handler = registry.find("q", "pair");
    REQUIRE(handler);
    auto run = [&](const std::string& data) {
      pq::Job job;
      job.id = 7;
      job.data = data;
      pq::Context context(job, nullptr, {});
      handler->run(context);
    };
    CHECK_NOTHROW(run(R"({"args":[1,"x"]})"));
    CHECK_THROWS_WITH_AS(run(R"({"args":[1]})"), "task 'pair' takes 2 arguments, job 7 has 1", pq::DecodeError);
    CHECK_THROWS_WITH_AS(run(R"({"args":["1","x"]})"), "argument 1: expected an integer, got string \"1\"",
                         pq::DecodeError);
    CHECK_THROWS_WITH_AS(run(R"([1,"x"])"), doctest::Contains("has no \"args\" array"), pq::DecodeError);
  }

  TEST_CASE("backoff is a pure function: attempt^4 seconds with ±10% jitter, capped; or a fixed delay") {
    using std::chrono::microseconds;
    pq::TaskOptions exponential;
    CHECK(pq::retry_delay(1, exponential, 0.0) == microseconds(1'000'000));
    CHECK(pq::retry_delay(2, exponential, 0.0) == microseconds(16'000'000));
    CHECK(pq::retry_delay(3, exponential, 1.0) == microseconds(89'100'000));
    CHECK(pq::retry_delay(3, exponential, -1.0) == microseconds(72'900'000));
    CHECK(pq::retry_delay(1000, exponential, 1.0) == pq::kMaxBackoff);
    CHECK(pq::retry_delay(2'000'000'000, exponential, 0.0) == pq::kMaxBackoff);
    CHECK(pq::retry_delay(0, exponential, 0.0) == microseconds(1'000'000));
    pq::TaskOptions fixed{.retry_in = 10s};
    CHECK(pq::retry_delay(7, fixed, 1.0) == microseconds(10'000'000));
    for (int i = 0; i < 1000; ++i) {
      auto jitter = pq::draw_jitter();
      REQUIRE(jitter >= -1.0);
      REQUIRE(jitter <= 1.0);
    }
  }
}
