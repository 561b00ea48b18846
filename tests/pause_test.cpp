// Pauses (sql/migrations/008_pauses.sql, pq/pause.hpp): durable and fleet-wide, checked inside every
// statement that starts jobs, timed or until resumed, of a queue or of one kind in it.
#include <atomic>
#include <mutex>
#include <set>
#include <thread>
#include <vector>

#include "support.hpp"

using namespace std::chrono_literals;

namespace {

auto count(pq::PQ& pq, const std::string& where) -> std::string {
  return test::scalar(pq, "select count(*) from " + test::jobs_table(pq) + " where " + where);
}

// Microseconds from the first time to the second, by the database.
auto micros_between(pq::PQ& pq, const std::string& first, const std::string& second) -> std::int64_t {
  return std::stoll(test::scalar(pq, "select floor(extract(epoch from (" + second + ") - (" + first +
                                         ")) * 1000000)::bigint"));
}

// A worker on its own thread, until the test stops it.
class Running {
 public:
  Running(pq::PQ& pq, pq::WorkerOptions options)
      : worker_(pq, std::move(options)), thread_([this] { worker_.run(); }) {}
  Running(const Running&) = delete;
  auto operator=(const Running&) -> Running& = delete;
  ~Running() {
    worker_.stop();
    thread_.join();
  }

 private:
  pq::Worker worker_;
  std::thread thread_;
};

}  // namespace

TEST_SUITE("pause") {
  TEST_CASE("a queue paused before it has jobs starts none, through any claim, until resumed") {
    auto pq = test::fresh();
    auto queue = pq["later"];
    CHECK(queue.pause({.reason = "provider outage"}).running == 0);
    auto ran = std::make_shared<std::atomic<int>>(0);
    auto work = queue.task("work", [ran] { ++*ran; });
    for (int i = 0; i < 3; ++i) work.push();
    queue.put(R"({"plain":1})");
    CHECK_FALSE(queue.get().has_value());
    CHECK_FALSE(queue.lease(30s).has_value());
    CHECK(test::scalar(pq, "select count(*) from \"" + pq.options().schema + "\".take('later', 10)") == "0");
    test::LogCapture log;
    pq::Worker(pq, test::burst({"later"}, log)).run();
    // A worker started afresh, and another client of the same schema, find the pause in the database.
    pq::Worker(pq, test::burst({"later"}, log)).run();
    pq::PQ other(test::server().url(), {.schema = pq.options().schema});
    CHECK_FALSE(other["later"].get().has_value());
    CHECK(*ran == 0);
    CHECK(count(pq, "state = 'available'") == "4");
    const auto pauses = other.paused();
    REQUIRE(pauses.size() == 1);
    CHECK(pauses[0].queue == "later");
    CHECK(pauses[0].kind.empty());
    CHECK_FALSE(pauses[0].until.has_value());
    CHECK(pauses[0].reason == "provider outage");
    CHECK_FALSE(pauses[0].paused_by.empty());

    CHECK(queue.resume());
    CHECK_FALSE(queue.resume());  // nothing left to resume: said, not an error
    CHECK(pq.paused().empty());
    pq::Worker(pq, test::burst({"later"}, log)).run();
    CHECK(*ran == 3);
    CHECK(queue.get().has_value());
  }

  TEST_CASE("no claim that begins after pause returns starts a job, with 16 claimers at full speed") {
    auto pq = test::fresh();
    auto queue = pq["busy"];
    auto work = queue.task("work", [] {});
    std::vector<std::string> batch(500, R"({"args":[]})");
    for (int i = 0; i < 40; ++i) queue.put_many(batch, {.kind = "work"});
    std::atomic<bool> done{false};
    std::atomic<int> taken{0};
    std::vector<std::thread> getters;
    for (int i = 0; i < 12; ++i) {
      getters.emplace_back([&] {
        while (!done) {
          if (queue.get(0s)) ++taken;
        }
      });
    }
    test::LogCapture log;
    std::optional<std::string> after;
    {
      Running worker(pq, {.queues = {"busy"}, .concurrency = 4, .handle_signals = false, .log = log.sink()});
      REQUIRE(test::wait_until([&] { return taken > 200; }));
      queue.pause();
      after = test::scalar(pq, "select clock_timestamp()::text");
      // Claims go on trying for a while: every one of them must come back empty.
      const auto seen = taken.load();
      std::this_thread::sleep_for(500ms);
      done = true;
      for (auto& getter : getters) getter.join();
      CHECK(taken - seen <= 12);  // at most the gets already running when the pause committed
    }
    CHECK(count(pq, "attempted_at > '" + *after + "'") == "0");
    CHECK(count(pq, "state = 'running'") == "0");  // the worker's running jobs finished
    CHECK(std::stoi(count(pq, "state = 'available'")) > 0);
    CHECK(test::scalar(pq, "select count(*) from " + test::jobs_table(pq) + " where state = 'completed'") != "0");
  }

  TEST_CASE("a timed pause ends by itself, and workers and blocking gets start at its end, not at a poll") {
    auto pq = test::fresh({.poll_interval = 60s});
    auto queue = pq["timed"];
    auto work = queue.task("work", [] {});
    test::LogCapture log;
    Running worker(pq, {.queues = {"timed"}, .concurrency = 2, .handle_signals = false, .log = log.sink()});
    queue.pause({.for_ = 1500ms});
    const auto until = test::scalar(pq, "select until::text from \"" + pq.options().schema + "\".pauses");
    const auto id = work.push();  // its notification wakes the worker, whose claim finds the queue paused
    REQUIRE(test::wait_until([&] { return test::state_of(pq, id) == pq::JobState::completed; }, 30s));
    const auto started =
        "(select attempted_at from " + test::jobs_table(pq) + " where id = " + std::to_string(id) + ")";
    const auto late = micros_between(pq, "'" + until + "'::timestamptz", started);
    CHECK(late >= 0);
    CHECK(late < 10'000'000);  // generous, and far below the 60 s poll
    CHECK(pq.paused().empty());

    // A blocking get sleeps until the pause ends too, not until its poll.
    auto other = pq["timed-get"];
    other.put("{}");
    other.pause({.for_ = 1s});
    const auto get_until = test::scalar(pq, "select until::text from \"" + pq.options().schema +
                                                "\".pauses where queue = 'timed-get'");
    auto job = other.get(std::chrono::seconds(30));
    REQUIRE(job.has_value());
    CHECK(micros_between(pq, "'" + get_until + "'::timestamptz",
                         "(select attempted_at from " + test::jobs_table(pq) + " where id = " +
                             std::to_string(job->id) + ")") >= 0);
  }

  TEST_CASE("a kind's pause stops only that kind, and its end finds the jobs the claims went past") {
    auto pq = test::fresh({.poll_interval = 60s});
    auto queue = pq["mixed"];
    std::mutex mutex;
    std::vector<std::string> order;
    auto note = [&](std::string kind) {
      std::lock_guard lock(mutex);
      order.push_back(std::move(kind));
    };
    auto slow = queue.task("slow", [&] { note("slow"); });
    auto fast = queue.task("fast", [&] { note("fast"); });
    CHECK_THROWS_WITH_AS(queue.pause({.kind = "slwo"}), doctest::Contains("has no job of kind 'slwo'"),
                         pq::UsageError);
    CHECK(queue.pause({.kind = "slwo", .new_kind = true}).running == 0);
    CHECK(queue.resume("slwo"));
    slow.push();
    queue.pause({.kind = "slow", .for_ = 2s});
    for (int i = 0; i < 5; ++i) {
      slow.push();
      fast.push();
    }
    test::LogCapture log;
    {
      Running worker(pq, {.queues = {"mixed"}, .concurrency = 2, .handle_signals = false, .log = log.sink()});
      REQUIRE(test::wait_until([&] {
        std::lock_guard lock(mutex);
        return order.size() == 5;
      }));
      {
        std::lock_guard lock(mutex);
        CHECK(std::count(order.begin(), order.end(), "fast") == 5);
      }
      // No notification says the pause ended; the worker wakes at its end and claims from the head.
      CHECK(test::wait_until([&] {
        std::lock_guard lock(mutex);
        return order.size() == 11;
      }, 30s));
    }
    CHECK(count(pq, "state = 'completed'") == "11");
  }

  TEST_CASE("resume wakes listening workers at once; a worker that only polls sees pause and resume by its poll") {
    for (const bool listen : {true, false}) {
      CAPTURE(listen);
      auto pq = test::fresh({.listen = listen, .poll_interval = listen ? 60s : 200ms});
      auto queue = pq["woken"];
      auto work = queue.task("work", [] {});
      test::LogCapture log;
      Running worker(pq, {.queues = {"woken"}, .concurrency = 2, .handle_signals = false, .log = log.sink()});
      const auto first = work.push();
      REQUIRE(test::wait_until([&] { return test::state_of(pq, first) == pq::JobState::completed; }));
      queue.pause();
      for (int i = 0; i < 5; ++i) work.push();
      std::this_thread::sleep_for(1s);  // five polls of the poll-only worker
      CHECK(count(pq, "state = 'available'") == "5");
      queue.resume();
      CHECK(test::wait_until([&] { return count(pq, "state = 'completed'") == "6"; }, 30s));
    }
  }

  TEST_CASE("pausing with cancel_running asks the running jobs in scope to stop, and no others") {
    auto pq = test::fresh();
    auto queue = pq["stop"];
    const auto one = queue.put("{}", {.kind = "a"});
    const auto two = queue.put("{}", {.kind = "b"});
    const auto three = pq["elsewhere"].put("{}", {.kind = "a"});
    for (auto id : {one, two, three}) test::force_job(pq, id, test::kRunning);
    const auto result = queue.pause({.kind = "a", .cancel_running = true});
    CHECK(result.running == 1);
    CHECK(result.cancel_requested == 1);
    CHECK(pq.job(one)->cancel_requested);
    CHECK_FALSE(pq.job(two)->cancel_requested);
    CHECK_FALSE(pq.job(three)->cancel_requested);
    CHECK(queue.pause().running == 2);  // the queue's own pause, beside the kind's
    CHECK(pq.paused().size() == 2);
    CHECK(pq.resume_all() == 2);
    CHECK(pq.paused().empty());
  }

  TEST_CASE("pausing again replaces the end and reason; bad pauses are refused and change nothing") {
    auto pq = test::fresh();
    auto queue = pq["twice"];
    queue.pause({.for_ = 1h, .reason = "first"});
    queue.pause({.reason = "second"});
    auto pauses = pq.paused();
    REQUIRE(pauses.size() == 1);
    CHECK_FALSE(pauses[0].until.has_value());
    CHECK(pauses[0].reason == "second");
    CHECK(queue.resume());
    CHECK_THROWS_WITH_AS(queue.pause({.for_ = 0us}), doctest::Contains("positive time"), pq::UsageError);
    CHECK_THROWS_WITH_AS(queue.pause({.for_ = -1s}), doctest::Contains("positive time"), pq::UsageError);
    CHECK_THROWS_WITH_AS(queue.pause({.for_ = std::chrono::hours(24 * 366 * 200)}), doctest::Contains("100 years"),
                         pq::UsageError);
    CHECK_THROWS_WITH_AS(queue.pause({.reason = std::string(1001, 'x')}), doctest::Contains("limit is 1000"),
                         pq::UsageError);
    CHECK_THROWS_WITH_AS(queue.pause({.kind = "bad\nkind", .new_kind = true}), doctest::Contains("control"),
                         pq::UsageError);
    CHECK_THROWS_AS(queue.resume(std::string(200, 'k')), pq::UsageError);
    CHECK(pq.paused().empty());
    // A pause that ended is no pause: not listed, and resuming it says so.
    queue.pause({.for_ = 1ms});
    REQUIRE(test::wait_until([&] { return pq.paused().empty(); }));
    CHECK_FALSE(queue.resume());
  }
}
