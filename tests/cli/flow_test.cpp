// pause, resume and queues as people and scripts use them, through the built binary.
#include <string>
#include <vector>

#include "cli/cli.hpp"
#include "support.hpp"

using namespace cli;
using namespace std::chrono_literals;

TEST_SUITE("cli") {
  TEST_CASE("pause and resume a queue or a kind; queues shows what is paused, until when and why") {
    auto pq = test::fresh();
    pq["mail"].put("{}", {.kind = "send"});
    pq["mail"].put("{}", {.kind = "send"});
    check_error(run(pq, {"pause", "mail", "--kind", "sned"}), 2, "queue 'mail' has no job of kind 'sned'");
    check_error(run(pq, {"pause", "mail", "--for", "0s"}), 2, "positive time");
    check_error(run(pq, {"pause", "mail", "--for", "soon"}), 2, "--for");
    check_error(run(pq, {"pause"}), 2, "QUEUE");
    CHECK(pq.paused().empty());

    auto paused = run(pq, {"pause", "mail", "--for", "10m", "--reason", "provider outage"});
    CHECK(paused.code == 0);
    CHECK(paused.out == "paused queue 'mail' for 10m00s\n");
    CHECK_FALSE(pq["mail"].get(0s).has_value());
    auto kind = run(pq, {"pause", "reports", "--kind", "daily", "--new-kind", "--json"});
    CHECK(kind.code == 0);
    CHECK(kind.out == R"({"queue":"reports","kind":"daily","running":0,"cancel_requested":0})" "\n");

    auto table = run(pq, {"queues"});
    CHECK(table.code == 0);
    CHECK(table.out.find("QUEUE") != std::string::npos);
    CHECK(table.out.find("provider outage") != std::string::npos);
    CHECK(table.out.find("kind daily") != std::string::npos);
    CHECK(table.out.find("resumed by hand") != std::string::npos);
    auto json = run(pq, {"queues", "--json"});
    CHECK(json.code == 0);
    simdjson::dom::parser parser;
    auto queues = parser.parse(json.out).get_array().value();
    REQUIRE(queues.size() == 2);
    CHECK(std::string_view(queues.at(0)["queue"].get_string().value()) == "mail");
    CHECK(queues.at(0)["paused"].get_bool().value());
    CHECK(queues.at(0)["available"].get_int64().value() == 2);
    CHECK(std::string_view(queues.at(0)["pauses"].at(0)["reason"].get_string().value()) == "provider outage");
    CHECK(queues.at(0)["pauses"].at(0)["until"].is_string());
    CHECK_FALSE(queues.at(1)["paused"].get_bool().value());  // only a kind of it is
    CHECK(queues.at(1)["pauses"].at(0)["until"].is_null());

    auto resumed = run(pq, {"resume", "mail"});
    CHECK(resumed.code == 0);
    CHECK(resumed.out == "resumed queue 'mail'\n");
    check_error(run(pq, {"resume", "mail"}), 1, "queue 'mail' is not paused");
    check_error(run(pq, {"resume", "mail", "--all"}), 2, "not both");
    check_error(run(pq, {"resume", "--all", "--kind", "x"}), 2, "--kind goes with a QUEUE");
    CHECK(run(pq, {"resume", "--all", "--json"}).out == "{\"resumed\":1}\n");
    CHECK(run(pq, {"resume", "--all"}).out == "resumed 0 pauses\n");
    CHECK(pq["mail"].get(0s).has_value());
    CHECK(run(pq, {"queues"}).out.find("provider outage") == std::string::npos);
  }
}
