// libFuzzer target for the durations and times people type (`pq put --at`, `--expected`, `pq purge
// --older-than`): whatever the bytes, parse_duration and parse_when either succeed within their documented
// range or throw pq::UsageError; a time they read formats back to text that reads as the same time.
#include <cstdint>
#include <string_view>

#include "pq/pq.hpp"

namespace {

[[noreturn]] void broken(const char* invariant) {
  __builtin_trap();  // libFuzzer keeps the input that got here
  (void)invariant;
}

}  // namespace

extern "C" auto LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) -> int {
  const std::string_view text(reinterpret_cast<const char*>(data), size);
  try {
    auto duration = pq::parse_duration(text);
    if (duration < std::chrono::microseconds::zero() || duration > pq::kMaxDuration) {
      broken("parse_duration returned a duration outside [0, kMaxDuration]");
    }
  } catch (const pq::UsageError&) {
  }
  try {
    auto when = pq::parse_when(text);
    if (auto delay = when.delay()) {
      if (*delay < std::chrono::microseconds::zero() || *delay > pq::kMaxDuration) {
        broken("parse_when returned a delay outside [0, kMaxDuration]");
      }
    } else if (auto at = when.at()) {
      auto again = pq::parse_when(pq::format_time(*at));
      if (!again.at() || *again.at() != *at) broken("format_time does not read back as the same time");
    } else {
      broken("parse_when returned neither a delay nor a time");
    }
  } catch (const pq::UsageError&) {
  }
  return 0;
}
