#include "pq/duration.hpp"

#include <fmt/core.h>

#include <array>
#include <optional>

#include "pq/error.hpp"

namespace pq {
namespace {

using std::chrono::microseconds;
using Micros = std::chrono::time_point<Clock, microseconds>;

constexpr std::string_view kDurationShape =
    "expected seconds (1.5), or a number followed by ms, s, m, h or d (500ms, 90s, 5m, 2h, 1d)";
constexpr std::string_view kTimeShape = "expected YYYY-MM-DDTHH:MM:SS[.fraction] followed by Z or ±HH:MM";

// Input comes from command lines and files: quote it without control characters and within a line.
auto shown(std::string_view text) -> std::string {
  constexpr std::size_t kLongest = 64;
  std::string out;
  for (char c : text.substr(0, kLongest)) out += static_cast<unsigned char>(c) < 0x20 || c == 0x7f ? '?' : c;
  if (text.size() > kLongest) out += "...";
  return out;
}

auto is_digit(char c) -> bool { return c >= '0' && c <= '9'; }

// The value of the digits at [at, at + count) of `text`, or nullopt when any of them is not a digit.
auto digits(std::string_view text, std::size_t at, std::size_t count) -> std::optional<int> {
  if (at + count > text.size()) return std::nullopt;
  int value = 0;
  for (char c : text.substr(at, count)) {
    if (!is_digit(c)) return std::nullopt;
    value = value * 10 + (c - '0');
  }
  return value;
}

// Times must also fit the job's TimePoint, whose nanoseconds span only the years 1678 to 2262.
constexpr auto kEarliest = std::chrono::ceil<microseconds>(TimePoint::min());
constexpr auto kLatest = std::chrono::floor<microseconds>(TimePoint::max());

auto parse_time(std::string_view text) -> Micros {
  auto fail = [&](std::string_view why) -> UsageError {
    return UsageError(fmt::format("bad time '{}': {}", shown(text), why));
  };
  // YYYY-MM-DDTHH:MM:SS: fixed positions for the separators, digits everywhere else.
  constexpr std::string_view kLayout = "dddd-dd-ddTdd:dd:dd";
  if (text.size() < kLayout.size()) throw fail(kTimeShape);
  for (std::size_t i = 0; i < kLayout.size(); ++i) {
    char c = text[i];
    bool fits = kLayout[i] == 'd' ? is_digit(c) : kLayout[i] == 'T' ? (c == 'T' || c == 't') : c == kLayout[i];
    if (!fits) throw fail(kTimeShape);
  }
  const int y = *digits(text, 0, 4), mo = *digits(text, 5, 2), d = *digits(text, 8, 2);
  const int h = *digits(text, 11, 2), mi = *digits(text, 14, 2), s = *digits(text, 17, 2);
  const std::chrono::year_month_day date{std::chrono::year{y}, std::chrono::month{static_cast<unsigned>(mo)},
                                         std::chrono::day{static_cast<unsigned>(d)}};
  if (!date.ok()) throw fail(fmt::format("{:04}-{:02}-{:02} is not a date", y, mo, d));
  if (h > 23 || mi > 59 || s > 59) {
    throw fail(fmt::format("{:02}:{:02}:{:02} is not a time of day (leap seconds are not supported)", h, mi, s));
  }
  std::size_t at = kLayout.size();
  microseconds fraction{0};
  if (at < text.size() && text[at] == '.') {
    const std::size_t first = ++at;
    for (; at < text.size() && is_digit(text[at]); ++at) {
      if (at - first < 6) fraction = fraction * 10 + microseconds{text[at] - '0'};
    }
    if (at == first) throw fail("expected digits after the decimal point");
    for (auto n = at - first; n < 6; ++n) fraction *= 10;
  }
  const auto zone = text.substr(at);
  std::chrono::minutes offset{0};
  if (zone != "Z" && zone != "z") {
    if (zone.empty()) throw fail("expected Z or ±HH:MM after the time: without its zone the time is ambiguous");
    const auto oh = digits(zone, 1, 2), om = digits(zone, 4, 2);
    if (zone.size() != 6 || (zone[0] != '+' && zone[0] != '-') || zone[3] != ':' || !oh || !om) {
      throw fail(kTimeShape);
    }
    if (*oh > 23 || *om > 59) throw fail(fmt::format("{} is not a UTC offset", shown(zone)));
    offset = (zone[0] == '-' ? -1 : 1) * (std::chrono::hours(*oh) + std::chrono::minutes(*om));
  }
  const auto time = Micros{std::chrono::sys_days{date}.time_since_epoch()} + std::chrono::hours(h) +
                    std::chrono::minutes(mi) + std::chrono::seconds(s) + fraction - offset;
  if (time < Micros{kEarliest} || time > Micros{kLatest}) {
    throw fail("out of range: times must fall between the years 1678 and 2262");
  }
  return time;
}

// "5m" → 5 minutes, "1.5" → 1.5 seconds; nullopt when the text is not a number with an optional unit.
auto try_duration(std::string_view text) -> std::optional<microseconds> {
  const auto number_end = text.find_first_not_of("0123456789.");
  const auto number = text.substr(0, number_end);
  const auto unit_text = number_end == std::string_view::npos ? std::string_view{} : text.substr(number_end);
  microseconds unit{0};
  if (unit_text.empty() || unit_text == "s") {
    unit = std::chrono::seconds(1);
  } else if (unit_text == "ms") {
    unit = std::chrono::milliseconds(1);
  } else if (unit_text == "m") {
    unit = std::chrono::minutes(1);
  } else if (unit_text == "h") {
    unit = std::chrono::hours(1);
  } else if (unit_text == "d") {
    unit = std::chrono::hours(24);
  } else {
    return std::nullopt;
  }
  const auto point = number.find('.');
  const auto whole = number.substr(0, point);
  const auto fraction = point == std::string_view::npos ? std::string_view{} : number.substr(point + 1);
  if ((whole.empty() && fraction.empty()) || fraction.find('.') != std::string_view::npos ||
      (point != std::string_view::npos && fraction.empty())) {
    return std::nullopt;
  }
  auto too_long = [&] {
    return UsageError(fmt::format("bad duration '{}': longer than the limit of {} days", shown(text),
                                  std::chrono::duration_cast<std::chrono::days>(kMaxDuration).count()));
  };
  std::int64_t count = 0;
  for (char c : whole) {
    count = count * 10 + (c - '0');
    if (count > kMaxDuration / unit) throw too_long();
  }
  // The fraction of one unit, to the microsecond: six digits are enough for a second or more, and keep a
  // day's microseconds times the numerator within 64 bits.
  std::int64_t numerator = 0, denominator = 1;
  for (char c : fraction.substr(0, 6)) {
    numerator = numerator * 10 + (c - '0');
    denominator *= 10;
  }
  const auto duration = count * unit + microseconds{numerator * unit.count() / denominator};
  if (duration > kMaxDuration) throw too_long();
  return duration;
}

auto looks_like_time(std::string_view text) -> bool {
  return text.size() > 4 && digits(text, 0, 4) && text[4] == '-';
}

}  // namespace

auto parse_duration(std::string_view text) -> microseconds {
  if (auto duration = try_duration(text)) return *duration;
  throw UsageError(fmt::format("bad duration '{}': {}", shown(text), kDurationShape));
}

auto parse_when(std::string_view text) -> When {
  constexpr std::string_view kShape =
      "expected seconds (1.5), or a number followed by ms, s, m, h or d (500ms, 90s, 5m, 2h, 1d), or an "
      "ISO-8601 time";
  if (looks_like_time(text)) return parse_time(text);
  if (auto duration = try_duration(text)) return *duration;
  throw UsageError(fmt::format("bad duration '{}': {}", shown(text), kShape));
}

auto format_time(TimePoint time) -> std::string {
  const auto micros = std::chrono::floor<microseconds>(time);
  const auto day = std::chrono::floor<std::chrono::days>(micros);
  const std::chrono::year_month_day date{day};
  const std::chrono::hh_mm_ss clock{micros - day};
  return fmt::format("{:04}-{:02}-{:02}T{:02}:{:02}:{:02}.{:06}Z", static_cast<int>(date.year()),
                     static_cast<unsigned>(date.month()), static_cast<unsigned>(date.day()), clock.hours().count(),
                     clock.minutes().count(), clock.seconds().count(), clock.subseconds().count());
}

}  // namespace pq
