#include "pg/params.hpp"

#include <fmt/format.h>

namespace pq::pg {
namespace {

template <class T>
auto integers(std::span<const T> items) -> std::string {
  fmt::memory_buffer out;
  out.push_back('{');
  for (std::size_t i = 0; i < items.size(); ++i) {
    if (i > 0) out.push_back(',');
    fmt::format_to(std::back_inserter(out), "{}", items[i]);
  }
  out.push_back('}');
  return fmt::to_string(out);
}

}  // namespace

auto text_array(std::span<const std::string> items) -> std::string {
  std::size_t length = 2;
  for (const auto& item : items) length += item.size() + 3;
  std::string out;
  out.reserve(length + length / 8);
  out += '{';
  for (const auto& item : items) {
    if (out.size() > 1) out += ',';
    out += '"';
    for (char c : item) {
      if (c == '"' || c == '\\') out += '\\';
      out += c;
    }
    out += '"';
  }
  out += '}';
  return out;
}

auto integer_array(std::span<const std::int64_t> items) -> std::string { return integers(items); }
auto integer_array(std::span<const int> items) -> std::string { return integers(items); }

}  // namespace pq::pg
