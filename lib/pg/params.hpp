// Statement parameters in libpq's text format, owned until the statement has run.
#pragma once

#include <chrono>
#include <cstdint>
#include <deque>
#include <optional>
#include <span>
#include <string>
#include <string_view>
#include <vector>

namespace pq::pg {

class Params {
 public:
  Params() = default;
  // A copy's pointers would point into the original's strings; a move keeps the deque's blocks, and them.
  Params(const Params&) = delete;
  auto operator=(const Params&) -> Params& = delete;
  Params(Params&&) noexcept = default;
  auto operator=(Params&&) noexcept -> Params& = default;
  ~Params() = default;

  auto add(std::string_view text) -> Params& {
    storage_.emplace_back(text);
    values_.push_back(storage_.back().c_str());
    return *this;
  }
  auto add(std::string&& text) -> Params& {
    storage_.push_back(std::move(text));
    values_.push_back(storage_.back().c_str());
    return *this;
  }
  auto add(const char* text) -> Params& { return add(std::string_view(text)); }
  auto add(std::int64_t number) -> Params& { return add(std::to_string(number)); }
  auto add(int number) -> Params& { return add(std::to_string(number)); }
  auto add(std::chrono::microseconds duration) -> Params& { return add(std::int64_t{duration.count()}); }
  auto add_null() -> Params& {
    values_.push_back(nullptr);
    return *this;
  }
  template <class T>
  auto add(const std::optional<T>& value) -> Params& {
    return value ? add(*value) : add_null();
  }

  [[nodiscard]] auto size() const noexcept -> int { return static_cast<int>(values_.size()); }
  [[nodiscard]] auto values() const noexcept -> const char* const* { return values_.data(); }

 private:
  std::deque<std::string> storage_;  // a deque never moves its strings, so the pointers stay valid
  std::vector<const char*> values_;
};

/// A text[] literal: every element double-quoted, backslash and double quote escaped.
auto text_array(std::span<const std::string> items) -> std::string;
/// A bigint[] / integer[] literal.
auto integer_array(std::span<const std::int64_t> items) -> std::string;
auto integer_array(std::span<const int> items) -> std::string;

}  // namespace pq::pg
