// What pq's command-line programs share: one-line messages.
#include "pq/cli.hpp"

#include "common/validate.hpp"

namespace pq {

auto one_line(std::string_view text) -> std::string {
  std::string joined;
  for (std::size_t at = 0; at < text.size(); ++at) {
    if (text[at] == '\n') {
      while (at + 1 < text.size() && (text[at + 1] == ' ' || text[at + 1] == '\t' || text[at + 1] == '\n')) ++at;
      if (at + 1 < text.size()) joined += "; ";
    } else if (text.substr(at).starts_with("\u2018") || text.substr(at).starts_with("\u2019")) {
      joined += '\'';  // cxxopts quotes with these, which not every terminal or log shows
      at += 2;
    } else {
      joined += text[at];
    }
  }
  return log_safe(joined);
}

}  // namespace pq
