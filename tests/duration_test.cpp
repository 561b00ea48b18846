#include <string>
#include <vector>

#include "support.hpp"

using namespace std::chrono_literals;

namespace {

auto at(std::string_view text) -> pq::TimePoint {
  auto when = pq::parse_when(text);
  REQUIRE(when.at());
  return *when.at();
}

auto utc(int y, unsigned mo, unsigned d) -> pq::TimePoint {
  return std::chrono::sys_days{std::chrono::year{y} / mo / d};
}

}  // namespace

TEST_SUITE("duration") {
  TEST_CASE("durations take fractions, milliseconds, and bare numbers of seconds") {
    CHECK(pq::parse_duration("1.5s") == 1500ms);
    CHECK(pq::parse_duration("1.5") == 1500ms);
    CHECK(pq::parse_duration("0.5") == 500ms);
    CHECK(pq::parse_duration(".5") == 500ms);
    CHECK(pq::parse_duration("5") == 5s);
    CHECK(pq::parse_duration("500ms") == 500ms);
    CHECK(pq::parse_duration("2.5ms") == 2500us);
    CHECK(pq::parse_duration("1.25h") == 75min);
    CHECK(pq::parse_duration("0.1d") == 144min);
    CHECK(pq::parse_duration("0.0000001s") == 0us);
    CHECK(pq::parse_duration("36499.5d") == pq::kMaxDuration - 12h);
    CHECK_THROWS_WITH_AS((void)pq::parse_duration("36500.5d"), doctest::Contains("longer than the limit"),
                         pq::UsageError);
    auto when = pq::parse_when("2.5");
    REQUIRE(when.delay());
    CHECK(*when.delay() == 2500ms);
  }

  TEST_CASE("durations are a whole number and a unit") {
    CHECK(pq::parse_duration("90s") == 90s);
    CHECK(pq::parse_duration("5m") == 5min);
    CHECK(pq::parse_duration("2h") == 2h);
    CHECK(pq::parse_duration("1d") == 24h);
    CHECK(pq::parse_duration("0s") == 0s);
    CHECK(pq::parse_duration("007m") == 7min);
    CHECK(pq::parse_duration("36500d") == pq::kMaxDuration);
  }

  TEST_CASE("bad durations say what was expected") {
    CHECK_THROWS_WITH_AS((void)pq::parse_duration("5x"),
                         "bad duration '5x': expected seconds (1.5), or a number followed by ms, s, m, h or d "
                         "(500ms, 90s, 5m, 2h, 1d)",
                         pq::UsageError);
    for (const char* text : {"", "s", ".", "5.", "1..5s", "1.5.2s", "-5m", "+5m", "5 m", " 5m", "5mm", "m5", "5M",
                             "1e3s", "5us", "1,5s"}) {
      CAPTURE(text);
      CHECK_THROWS_AS((void)pq::parse_duration(text), pq::UsageError);
    }
    CHECK_THROWS_WITH_AS((void)pq::parse_duration("36501d"), doctest::Contains("longer than the limit of 36500 days"),
                         pq::UsageError);
    CHECK_THROWS_AS((void)pq::parse_duration("99999999999999999999999999s"), pq::UsageError);
    CHECK_THROWS_AS((void)pq::parse_duration("2026-12-01T10:00:00Z"), pq::UsageError);
  }

  TEST_CASE("when is a delay or an ISO-8601 time") {
    auto delay = pq::parse_when("5m");
    REQUIRE(delay.delay());
    CHECK(*delay.delay() == 5min);
    CHECK_FALSE(delay.at());
    CHECK(at("2026-12-01T10:00:00Z") == utc(2026, 12, 1) + 10h);
    CHECK(at("2026-12-01t10:00:00z") == utc(2026, 12, 1) + 10h);
    CHECK(at("2026-12-01T10:00:00.5Z") == utc(2026, 12, 1) + 10h + 500ms);
    CHECK(at("2026-12-01T10:00:00.123456789Z") == utc(2026, 12, 1) + 10h + 123456us);
    CHECK(at("2026-12-01T10:00:00+02:00") == utc(2026, 12, 1) + 8h);
    CHECK(at("2026-12-01T10:00:00-05:30") == utc(2026, 12, 1) + 15h + 30min);
    CHECK(at("2024-02-29T23:59:59Z") == utc(2024, 2, 29) + 23h + 59min + 59s);
    CHECK(at("1970-01-01T00:00:00Z") == pq::TimePoint{});
  }

  TEST_CASE("bad times say what is wrong") {
    CHECK_THROWS_WITH_AS((void)pq::parse_when("5x"),
                         "bad duration '5x': expected seconds (1.5), or a number followed by ms, s, m, h or d (500ms, 90s, 5m, 2h, 1d), or an ISO-8601 time",
                         pq::UsageError);
    CHECK_THROWS_WITH_AS((void)pq::parse_when("2026-02-29T10:00:00Z"), doctest::Contains("2026-02-29 is not a date"),
                         pq::UsageError);
    CHECK_THROWS_WITH_AS((void)pq::parse_when("2026-13-01T10:00:00Z"), doctest::Contains("is not a date"),
                         pq::UsageError);
    CHECK_THROWS_WITH_AS((void)pq::parse_when("2026-12-01T24:00:00Z"), doctest::Contains("is not a time of day"),
                         pq::UsageError);
    CHECK_THROWS_WITH_AS((void)pq::parse_when("2026-12-01T23:59:60Z"), doctest::Contains("leap seconds"),
                         pq::UsageError);
    CHECK_THROWS_WITH_AS((void)pq::parse_when("2026-12-01T10:00:00"), doctest::Contains("ambiguous"), pq::UsageError);
    CHECK_THROWS_WITH_AS((void)pq::parse_when("2026-12-01T10:00:00+25:00"), doctest::Contains("not a UTC offset"),
                         pq::UsageError);
    CHECK_THROWS_WITH_AS((void)pq::parse_when("9999-01-01T00:00:00Z"), doctest::Contains("out of range"),
                         pq::UsageError);
    for (const char* text : {"2026-12-01", "2026-12-01 10:00:00Z", "2026-12-01T10:00Z", "2026-12-01T10:00:00.Z",
                             "2026-12-01T10:00:00+0200", "2026-12-01T10:00:00+02", "2026-12-01T10:00:00ZZ",
                             "2026-1-01T10:00:00Z", "20261201T100000Z", "2026-12-01T10:00:00 Z"}) {
      CAPTURE(text);
      CHECK_THROWS_AS((void)pq::parse_when(text), pq::UsageError);
    }
  }

  TEST_CASE("messages quote the input on one line, shortened") {
    try {
      (void)pq::parse_when(std::string("5\n\x1b[2J") + std::string(200, 'x'));
      FAIL("no exception");
    } catch (const pq::UsageError& error) {
      std::string message = error.what();
      CHECK(message.find('\n') == std::string::npos);
      CHECK(message.find('\x1b') == std::string::npos);
      CHECK(message.size() < 200);
    }
  }

  TEST_CASE("format_time writes what parse_when reads") {
    const std::vector<pq::TimePoint> times{utc(2026, 12, 1) + 10h + 123456us, pq::TimePoint{},
                                           utc(1999, 12, 31) + 23h + 59min + 59s,
                                           std::chrono::floor<std::chrono::microseconds>(pq::Clock::now())};
    for (auto time : times) {
      auto text = pq::format_time(time);
      CAPTURE(text);
      CHECK(text.size() == 27);
      CHECK(at(text) == time);
    }
    CHECK(pq::format_time(utc(2026, 12, 1) + 10h + 5us) == "2026-12-01T10:00:00.000005Z");
  }
}
