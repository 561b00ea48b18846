#include <map>
#include <optional>
#include <string>
#include <unordered_map>
#include <vector>

#include "support.hpp"

namespace {

struct Point {
  int x = 0;
  int y = 0;
  auto operator==(const Point&) const -> bool = default;
};

template <class T>
auto round_trip(const T& value) -> T {
  pq::JsonWriter out;
  pq::encode(out, value);
  pq::validate_json(out.str());
  return pq::decode<T>(pq::Json::parse(out.str()));
}

template <class T>
auto encoded(const T& value) -> std::string {
  pq::JsonWriter out;
  pq::encode(out, value);
  return out.take();
}

}  // namespace

template <>
struct pq::json_traits<Point> {
  static void encode(pq::JsonWriter& out, const Point& p) {
    out.begin_object();
    out.key("x");
    pq::encode(out, p.x);
    out.key("y");
    pq::encode(out, p.y);
    out.end_object();
  }
  static auto decode(const pq::Json& json) -> Point { return {pq::decode<int>(json["x"]), pq::decode<int>(json["y"])}; }
};

TEST_SUITE("json") {
  TEST_CASE("built-in types round-trip") {
    CHECK(round_trip(42) == 42);
    CHECK(round_trip(-7LL) == -7LL);
    CHECK(round_trip(std::uint64_t{18446744073709551615ULL}) == 18446744073709551615ULL);
    CHECK(round_trip(std::int64_t{-9223372036854775807LL - 1}) == -9223372036854775807LL - 1);
    CHECK(round_trip(2.5) == 2.5);
    CHECK(round_trip(0.1) == 0.1);
    CHECK(round_trip(1e300) == 1e300);
    CHECK(round_trip(3.0) == 3.0);
    CHECK(round_trip(true));
    CHECK(round_trip(std::string("quote \" backslash \\ newline \n tab \t bell \x07 é 🍏")) ==
          "quote \" backslash \\ newline \n tab \t bell \x07 é 🍏");
    CHECK(round_trip(std::vector<int>{1, 2, 3}) == std::vector<int>{1, 2, 3});
    CHECK(round_trip(std::vector<std::string>{}).empty());
    CHECK(round_trip(std::map<std::string, double>{{"a", 1.5}, {"b\"", -2}}) ==
          std::map<std::string, double>{{"a", 1.5}, {"b\"", -2}});
    CHECK(round_trip(std::unordered_map<std::string, int>{{"k", 1}}).at("k") == 1);
    CHECK(round_trip(std::optional<int>{}) == std::nullopt);
    CHECK(round_trip(std::optional<int>{5}) == 5);
    CHECK(round_trip(std::vector<std::optional<Point>>{Point{1, 2}, std::nullopt}) ==
          std::vector<std::optional<Point>>{Point{1, 2}, std::nullopt});
  }

  TEST_CASE("encoding is compact JSON") {
    CHECK(encoded(std::map<std::string, std::vector<int>>{{"a", {1, 2}}, {"b", {}}}) == R"({"a":[1,2],"b":[]})");
    CHECK(encoded(Point{3, -4}) == R"({"x":3,"y":-4})");
    CHECK(encoded("text") == R"("text")");
    CHECK(encoded(std::string("\x01")) == R"("\u0001")");
    CHECK_THROWS_AS(encoded(std::numeric_limits<double>::quiet_NaN()), pq::UsageError);
    CHECK_THROWS_AS(encoded(std::numeric_limits<double>::infinity()), pq::UsageError);
  }

  TEST_CASE("decoding says what did not fit, and where") {
    auto json = pq::Json::parse(R"({"a":[1,"two",3],"big":300,"neg":-1,"x":1.5})");
    CHECK_THROWS_WITH_AS(pq::decode<std::vector<int>>(json["a"]), "[1]: expected an integer, got string \"two\"",
                         pq::DecodeError);
    CHECK_THROWS_WITH_AS(pq::decode<std::int8_t>(json["big"]), doctest::Contains("integer 300 does not fit"),
                         pq::DecodeError);
    CHECK_THROWS_WITH_AS(pq::decode<unsigned>(json["neg"]), "expected a non-negative integer, got integer -1",
                         pq::DecodeError);
    CHECK_THROWS_WITH_AS(pq::decode<int>(json["x"]), "expected an integer, got number 1.5", pq::DecodeError);
    CHECK_THROWS_WITH_AS(pq::decode<int>(pq::Json::parse("3.0")),
                         "expected an integer, got number 3.0 (written with a decimal point or an exponent; an "
                         "integer has neither)",
                         pq::DecodeError);
    CHECK_THROWS_WITH_AS(pq::decode<int>(pq::Json::parse("\"a\\u001b[2J\"")),
                         "expected an integer, got string \"a\\x1b[2J\"", pq::DecodeError);
    CHECK_THROWS_WITH_AS((void)json["missing"], "missing member \"missing\"", pq::DecodeError);
    using IntMap = std::map<std::string, int>;
    CHECK_THROWS_WITH_AS(pq::decode<IntMap>(pq::Json::parse(R"({"k":"v"})")),
                         ".k: expected an integer, got string \"v\"", pq::DecodeError);
    CHECK(pq::decode<double>(json["big"]) == 300.0);
    CHECK_THROWS_AS(pq::Json::parse("{"), pq::JsonError);
  }
}
