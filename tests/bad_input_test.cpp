#include "common/validate.hpp"
#include "support.hpp"

using namespace std::chrono_literals;

namespace {

auto job_count(pq::PQ& pq) -> std::string {
  return test::scalar(pq, "select count(*) from \"" + pq.options().schema + "\".jobs");
}

}  // namespace

TEST_SUITE("bad input") {
  TEST_CASE("malformed JSON is rejected with its position and nothing is written") {
    auto pq = test::fresh();
    auto q = pq["bad"];
    CHECK_THROWS_WITH_AS(q.put(R"({"kind": Cox})"), doctest::Contains("offset 9"), pq::JsonError);
    CHECK_THROWS_AS(q.put(""), pq::JsonError);
    CHECK_THROWS_WITH_AS(q.put_many(std::vector<std::string>{"1", "2", "[3,"}), doctest::Contains("job 2"),
                         pq::JsonError);
    CHECK_THROWS_AS(q.update(1, "{"), pq::JsonError);
    CHECK(job_count(pq) == "0");
  }

  TEST_CASE("queue names must be 1..128 bytes without NUL") {
    auto pq = test::fresh();
    CHECK_THROWS_WITH_AS(pq[""], "queue name is empty", pq::UsageError);
    CHECK_THROWS_WITH_AS(pq[std::string(129, 'x')], "queue name is 129 bytes long; the limit is 128",
                         pq::UsageError);
    CHECK_THROWS_WITH_AS(pq[std::string("a\0b", 3)], "queue name contains a NUL byte", pq::UsageError);
    CHECK_THROWS_WITH_AS(pq["\xff\xfe"], "queue name is not valid UTF-8", pq::UsageError);
  }

  TEST_CASE("queue and kind names with control characters are refused and nothing is written") {
    auto pq = test::fresh();
    const std::string forged = "x\n2026-12-01T00:00:00.000Z info worker forged: all jobs completed";
    CHECK_THROWS_WITH_AS(pq["ok"].put("1", {.kind = forged}),
                         "kind name contains the control character \\n at byte 1", pq::UsageError);
    CHECK_THROWS_WITH_AS(pq["\x1b[31mred"], "queue name contains the control character \\x1b at byte 0",
                         pq::UsageError);
    CHECK_THROWS_WITH_AS(pq["del\x7f"], "queue name contains the control character \\x7f at byte 3",
                         pq::UsageError);
    CHECK_THROWS_WITH_AS(pq["ok"].put("1", {.kind = "next\xc2\x85line"}),
                         "kind name contains the control character \\u0085 at byte 4", pq::UsageError);
    CHECK_THROWS_AS(pq["ok"].put_many(std::vector<std::string>{"1"}, {.kind = "a\tb"}), pq::UsageError);
    CHECK_THROWS_AS(pq["ok"].task("tab\there", [] {}).push(), pq::UsageError);
    CHECK(job_count(pq) == "0");
    // Other characters outside ASCII are names like any other.
    pq["caf\xc3\xa9 \xc2\xa0"].put("1", {.kind = "\xe2\x82\xac"});
    CHECK(job_count(pq) == "1");
  }

  TEST_CASE("absurd options are clear errors") {
    auto pq = test::fresh();
    auto q = pq["opts"];
    CHECK_THROWS_WITH_AS(q.put("1", {.priority = 40000}), "priority 40000 is out of range [-32768, 32767]",
                         pq::UsageError);
    CHECK_THROWS_WITH_AS(q.put("1", {.priority = -40000}), "priority -40000 is out of range [-32768, 32767]",
                         pq::UsageError);
    CHECK_THROWS_WITH_AS(q.put("1", {.max_attempts = 0}), "max_attempts is 0; a job needs at least 1 attempt",
                         pq::UsageError);
    CHECK_THROWS_WITH_AS(q.put_many(std::vector<std::string>{"1"}, {.max_attempts = -3}),
                         doctest::Contains("max_attempts is -3"), pq::UsageError);
    CHECK_THROWS_WITH_AS(q.put("1", {.kind = std::string(200, 'k')}), doctest::Contains("kind name is 200"),
                         pq::UsageError);
    CHECK_THROWS_WITH_AS((pq::PQ{test::server().url(), {.schema = ""}}), "schema name is empty",
                         pq::UsageError);
    CHECK_THROWS_WITH_AS((pq::PQ{test::server().url(), {.schema = std::string(59, 's')}}),
                         "schema name is 59 bytes long; the limit is 58", pq::UsageError);
    CHECK_THROWS_AS((pq::PQ{test::server().url(), {.max_connections = 0}}), pq::UsageError);
    CHECK_THROWS_AS((pq::PQ{test::server().url(), {.poll_interval = std::chrono::milliseconds(-1)}}),
                    pq::UsageError);
    CHECK(job_count(pq) == "0");
  }

  TEST_CASE("payloads over the limit are rejected before any SQL") {
    auto pq = test::fresh({.max_payload = 64});
    auto q = pq["big"];
    std::string big = "\"" + std::string(100, 'x') + "\"";
    CHECK_THROWS_WITH_AS(q.put(big), doctest::Contains("job data is 102 bytes; the limit is 64"), pq::UsageError);
    CHECK(job_count(pq) == "0");
  }

  TEST_CASE("a schema that was never created gives an error that says what to do") {
    pq::PQ pq{test::server().url(), {.schema = pq::testing::unique_name("missing")}};
    CHECK(pq.schema_version() == 0);
    CHECK_THROWS_WITH_AS(pq["q"].put("1"), doctest::Contains("pq migrate"), pq::Error);
  }

  TEST_CASE("an unreachable database is a connection error that names no password") {
    pq::PQ pq{"postgresql://someone:sentinel-secret@127.0.0.1:1/nowhere?connect_timeout=2"};
    try {
      pq["q"].put("1");
      FAIL("no exception");
    } catch (const pq::Error& error) {
      CHECK(error.connection_lost());
      CHECK(error.retryable());
      std::string message = error.what();
      CHECK(message.find("sentinel-secret") == std::string::npos);
      // libpq's "Connection refused\n\tIs the server running ..." joined into one line.
      CHECK(message.find('\n') == std::string::npos);
      CHECK(message.find('\t') == std::string::npos);
      CHECK(message.find("Connection refused; Is the server running") != std::string::npos);
      CHECK(message.find("cannot connect to database \"nowhere\" as \"someone\" at 127.0.0.1:1") !=
            std::string::npos);
    }
    CHECK(pq.describe().find("sentinel-secret") == std::string::npos);
  }

  TEST_CASE("storable_text keeps valid UTF-8 and makes every other byte a visible escape") {
    CHECK(pq::storable_text("caf\xc3\xa9 \xe2\x82\xac \xf0\x9f\x98\x80 a\nb\tc\x1b[0m") ==
          "caf\xc3\xa9 \xe2\x82\xac \xf0\x9f\x98\x80 a\nb\tc\x1b[0m");
    CHECK(pq::storable_text("caf\xe9 failed") == "caf\\xe9 failed");
    CHECK(pq::storable_text(std::string("a\0b", 3)) == "a\\x00b");
    CHECK(pq::storable_text("\xc0\xaf") == "\\xc0\\xaf");                  // overlong '/'
    CHECK(pq::storable_text("\xed\xa0\x80") == "\\xed\\xa0\\x80");         // a surrogate
    CHECK(pq::storable_text("\xf4\x90\x80\x80") == "\\xf4\\x90\\x80\\x80");  // above U+10FFFF
    CHECK(pq::storable_text("end \xe2\x82") == "end \\xe2\\x82");          // cut short
    CHECK(pq::storable_text("") == "");
  }

  TEST_CASE("text made storable is accepted by PostgreSQL as it is") {
    auto pq = test::fresh();
    std::string bytes;
    for (int b = 0; b < 256; ++b) bytes += static_cast<char>(b);
    bytes += "\xe2\x82\xac\xed\xa0\x80\xf4\x90\x80\x80\xe2\x82";
    const auto text = pq::storable_text(bytes);
    auto tx = pq.begin();
    CHECK(tx.exec("select $1::text", {text}).get(0, 0) == text);
    tx.commit();
  }

  TEST_CASE("log_safe escapes what could end a log line or drive a terminal") {
    CHECK(pq::log_safe("plain caf\xc3\xa9 \xe2\x82\xac") == "plain caf\xc3\xa9 \xe2\x82\xac");
    CHECK(pq::log_safe("oops\n2026-12-01T00:00:00.000Z info forged") ==
          "oops\\n2026-12-01T00:00:00.000Z info forged");
    CHECK(pq::log_safe("a\r\tb") == "a\\r\\tb");
    CHECK(pq::log_safe("\x1b[31mRED\x1b[0m") == "\\x1b[31mRED\\x1b[0m");
    CHECK(pq::log_safe(std::string("\0\x7f", 2)) == "\\x00\\x7f");
    CHECK(pq::log_safe("\xc2\x85\xc2\x9b") == "\\u0085\\u009b");  // C1: next line, CSI
    CHECK(pq::log_safe("\xc2\xa0") == "\xc2\xa0");                // U+00A0 is no control
    CHECK(pq::log_safe("\xe2\x80\xa8\xe2\x80\xa9") == "\\u2028\\u2029");
    CHECK(pq::log_safe("caf\xe9") == "caf\\xe9");
    CHECK(pq::log_safe("back\\slash") == "back\\slash");
    std::string every;
    for (int b = 0; b < 256; ++b) every += static_cast<char>(b);
    for (const char c : pq::log_safe(every)) {
      const auto byte = static_cast<unsigned char>(c);
      CHECK((byte >= 0x20 && byte != 0x7f));
    }
  }
}
