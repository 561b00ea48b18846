#include <string>

#include "support.hpp"

TEST_SUITE("json") {
  TEST_CASE("valid documents pass") {
    for (const char* text : {R"({"kind":"Cox"})", "[]", "{}", "1", "-0.5e10", "\"text\"", "true", "null",
                             R"({"a":[1,2,{"b":null}],"c":"\u00e9\ud83d\ude00"})",
                             "123456789012345678901234567890", "1e400", " \n{ \"a\" : 1 } \n"}) {
      CAPTURE(text);
      CHECK_NOTHROW(pq::validate_json(text));
    }
  }

  TEST_CASE("a lone true, false, null or number may be followed by any whitespace") {
    // The on-demand parser beneath validate_json refused "true" followed by three or more whitespace bytes
    // and "false" by two; the DOM parser, jsonb and the JSON grammar accept them (found by the json fuzzer).
    for (const char* atom : {"true", "false", "null", "42", "\"x\""}) {
      for (const char* tail : {"", "\n", "\n\n\n\n\n\n\n\n\n\n\n\n\n\n\n\n\n\n\n\n\n\n", " \t\r\n \t\r\n \t\r\n"}) {
        const std::string text = std::string(" ") + atom + tail;
        CAPTURE(text);
        CHECK_NOTHROW(pq::validate_json(text));
        CHECK_NOTHROW(pq::Json::parse(text));
      }
    }
    CHECK_THROWS_AS(pq::validate_json("true \n\n\n\n\n x"), pq::JsonError);
    CHECK_THROWS_AS(pq::validate_json("null\n\n\n\n\n\nnull"), pq::JsonError);
  }

  TEST_CASE("malformed documents name the offset, line and column") {
    CHECK_THROWS_WITH_AS(pq::validate_json(R"({"a":1,})"), doctest::Contains("offset 7 (line 1, column 8)"),
                         pq::JsonError);
    CHECK_THROWS_WITH_AS(pq::validate_json("{\n  \"a\": tru\n}"), doctest::Contains("line 2, column 8"),
                         pq::JsonError);
    try {
      pq::validate_json(R"([1, 2, x])");
      FAIL("no exception");
    } catch (const pq::JsonError& error) {
      CHECK(error.offset() == 7);
      CHECK(error.sqlstate() == "22P02");
      CHECK(std::string(error.what()).find("near 'x]'") != std::string::npos);
    }
  }

  TEST_CASE("every kind of malformed input is rejected") {
    for (const char* text : {"", "   ", "{", "[1,2", R"({"a")", R"({"a":})", "[1 2]", R"("unclosed)", "01",
                             "1.", "-", "tru", "nul", "[1]]", "{} {}", R"({"a":1}x)", R"(["\x"])",
                             R"({'a':1})", "[.5]", "+1", R"(["\ud800"])"}) {
      CAPTURE(text);
      CHECK_THROWS_AS(pq::validate_json(text), pq::JsonError);
    }
  }

  TEST_CASE("what jsonb cannot store is rejected up front") {
    CHECK_THROWS_WITH_AS(pq::validate_json(std::string("{\"a\":\"x\0y\"}", 11)),
                         doctest::Contains("NUL byte"), pq::JsonError);
    CHECK_THROWS_WITH_AS(pq::validate_json(R"({"a":"x\u0000y"})"), doctest::Contains("\\u0000"),
                         pq::JsonError);
    CHECK_THROWS_WITH_AS(pq::validate_json(R"({"a\u0000":1})"), doctest::Contains("\\u0000"), pq::JsonError);
    CHECK_THROWS_WITH_AS(pq::validate_json("[\"\xC3\x28\"]"), doctest::Contains("offset 2"), pq::JsonError);
    CHECK_THROWS_WITH_AS(pq::validate_json("[\"\xC3\x28\"]"), doctest::Contains("invalid UTF-8"),
                         pq::JsonError);
  }
}

TEST_SUITE("json") {
  TEST_CASE("an error quotes the text near it with every non-printable byte escaped") {
    try {
      pq::validate_json("{\"a\": x\x1b[2J\xc3\xa9'\\}");
      FAIL("accepted");
    } catch (const pq::JsonError& error) {
      const std::string message = error.what();
      CAPTURE(message);
      CHECK(message.find("near 'x\\x1b[2J\\xc3\\xa9\\x27\\x5c}'") != std::string::npos);
      CHECK(message.find('\x1b') == std::string::npos);
    }
    try {
      pq::validate_json("[\"\xff\x01\"]");
      FAIL("accepted");
    } catch (const pq::JsonError& error) {
      const std::string message = error.what();
      CAPTURE(message);
      CHECK(message.find("invalid UTF-8 near '\\xff\\x01\"]'") != std::string::npos);
      CHECK(message.find('\xff') == std::string::npos);
    }
  }

  TEST_CASE("nesting is bounded: a deep document is refused with a clear error, never a crash") {
    auto nest = [](std::size_t levels) { return std::string(levels, '[') + std::string(levels, ']'); };
    CHECK_NOTHROW(pq::validate_json(nest(512)));
    CHECK(pq::Json::parse(nest(512)).type() == pq::Json::Type::array);
    CHECK_THROWS_WITH_AS(pq::validate_json(nest(513)), doctest::Contains("nested deeper than 512 levels"),
                         pq::JsonError);
    CHECK_THROWS_WITH_AS(pq::validate_json(nest(513)), doctest::Contains("offset 512"), pq::JsonError);
    // 800 KB, under the default payload limit: once enough to overflow the stack of whoever put it.
    CHECK_THROWS_AS(pq::validate_json(nest(400000)), pq::JsonError);
    CHECK_THROWS_AS(pq::Json::parse(nest(400000)), pq::JsonError);
  }
}
