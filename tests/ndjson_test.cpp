#include <array>
#include <sstream>
#include <streambuf>
#include <string>
#include <vector>

#include "support.hpp"

TEST_SUITE("ndjson") {
  TEST_CASE("one document per line; blank lines and CRLF line ends are fine") {
    auto documents = pq::read_ndjson("{\"a\":1}\n\n  \n[2]\r\n\"three\"\n4");
    CHECK(documents == std::vector<std::string>{"{\"a\":1}", "[2]", "\"three\"", "4"});
    CHECK(pq::read_ndjson("").empty());
    CHECK(pq::read_ndjson("\n\n").empty());
  }

  TEST_CASE("a malformed line is named by its number, counted from first_line") {
    CHECK_THROWS_WITH_AS(pq::read_ndjson("1\n2\n{\"a\": x}\n4"),
                         doctest::Contains("line 3: malformed JSON at offset 6: "), pq::JsonError);
    try {
      (void)pq::read_ndjson("1\n2\n{\"a\": x}\n4");
    } catch (const pq::JsonError& error) {
      CHECK(std::string(error.what()).find("(line 1") == std::string::npos);  // one line number, not two
    }
    CHECK_THROWS_WITH_AS(pq::read_ndjson("1\n\n[", 15), doctest::Contains("line 17: malformed JSON"),
                         pq::JsonError);
    // A document may not continue over two lines.
    CHECK_THROWS_WITH_AS(pq::read_ndjson("{\"a\":\n1}"), doctest::Contains("line 1:"), pq::JsonError);
  }

  TEST_CASE("a stream is read in batches with running line numbers") {
    std::string text;
    for (int i = 0; i < 25; ++i) text += std::to_string(i) + (i % 10 == 3 ? "\n\n" : "\n");
    std::istringstream in(text);
    pq::NdjsonReader reader(in, 10);
    std::vector<std::string> all;
    std::vector<std::size_t> sizes;
    for (auto batch = reader.next(); !batch.empty(); batch = reader.next()) {
      sizes.push_back(batch.size());
      all.insert(all.end(), batch.begin(), batch.end());
    }
    CHECK(sizes == std::vector<std::size_t>{10, 10, 5});
    REQUIRE(all.size() == 25);
    CHECK(all[24] == "24");
    CHECK(reader.lines() == 28);
    CHECK(reader.bytes() == text.size());

    std::istringstream bad("1\n2\n3\n\nnope\n");
    pq::NdjsonReader second(bad, 2);
    CHECK(second.next().size() == 2);
    CHECK_THROWS_WITH_AS(second.next(), doctest::Contains("line 5: "), pq::JsonError);
  }

  TEST_CASE("a line over the size limit is refused by number") {
    std::istringstream in("1\n\"" + std::string(100, 'x') + "\"\n");
    pq::NdjsonReader reader(in, 10, 50);
    CHECK_THROWS_WITH_AS(reader.next(), "line 2 is longer than 50 bytes, the limit for one job", pq::UsageError);
    // Exactly the limit is fine, with LF or CRLF.
    std::istringstream exact("\"" + std::string(48, 'x') + "\"\r\n\"" + std::string(48, 'y') + "\"\n");
    pq::NdjsonReader fits(exact, 10, 50);
    CHECK(fits.next().size() == 2);
  }

  TEST_CASE("a line over the size limit is refused before more than the limit is read") {
    // Hands out 8 MiB of one line in 4 KiB pieces, counting what it gave.
    class Endless : public std::streambuf {
     public:
      std::size_t handed = 0;

     protected:
      auto underflow() -> int_type override {
        if (handed >= (8U << 20U)) return traits_type::eof();
        chunk_.fill('x');
        handed += chunk_.size();
        setg(chunk_.data(), chunk_.data(), chunk_.data() + chunk_.size());
        return traits_type::to_int_type(chunk_[0]);
      }

     private:
      std::array<char, 4096> chunk_{};
    } source;
    std::istream in(&source);
    pq::NdjsonReader reader(in, 10, 100'000);
    CHECK_THROWS_WITH_AS(reader.next(), "line 1 is longer than 100000 bytes, the limit for one job", pq::UsageError);
    CHECK(source.handed <= 100'000 + 4096);
  }
}
