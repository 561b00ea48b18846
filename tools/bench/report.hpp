// The report of a run: a markdown table (the default), JSON (--json) and an SVG bar chart (--svg).
#pragma once

#include <string>
#include <vector>

#include "bench.hpp"

namespace pq::bench {

void print_markdown(const std::vector<Row>& rows, const ServerProfile& profile);
void print_json(const std::vector<Row>& rows, const Sizes& sizes, const ServerProfile& profile,
                const std::vector<std::string>& appendix);
// Horizontal bars, pq over its floor, each pair scaled to its own larger value (units differ per workload).
void write_svg(const std::vector<Row>& rows, const std::string& path);

}  // namespace pq::bench
