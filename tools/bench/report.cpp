#include "report.hpp"

#include <fmt/core.h>

#include <fstream>

#include "pq/error.hpp"
#include "pq/json.hpp"

namespace pq::bench {

namespace {

auto xml_escape(std::string_view text) -> std::string {
  std::string out;
  for (char c : text) {
    switch (c) {
      case '&': out += "&amp;"; break;
      case '<': out += "&lt;"; break;
      case '>': out += "&gt;"; break;
      default: out += c;
    }
  }
  return out;
}

}  // namespace

void print_markdown(const std::vector<Row>& rows, const ServerProfile& profile) {
  fmt::print("Server: PostgreSQL {}, {} profile (fsync = {}, synchronous_commit = {}, full_page_writes = {})\n\n",
             profile.version, profile.name(), profile.fsync, profile.synchronous_commit, profile.full_page_writes);
  fmt::print("| workload | pq | floor | ratio | goal | met |\n| --- | ---: | ---: | ---: | --- | --- |\n");
  for (const auto& row : rows) {
    std::string goals;
    for (const auto& goal : row.goals) goals += (goals.empty() ? "" : ", ") + goal.text(row.unit);
    fmt::print("| {} | {} | {} | {} | {} | {} |\n", row.workload, value_text(row.pq(), row.unit),
               value_text(row.floor(), row.unit), row.has_floor() ? fmt::format("{:.2f}", row.ratio()) : "–",
               goals.empty() ? "–" : goals, row.goals.empty() ? "–" : row.all_met() ? "yes" : "**no**");
  }
  fmt::print("\nFloors:\n");
  for (const auto& row : rows) {
    if (row.has_floor()) fmt::print("- {}: {}\n", row.workload, row.floor_name);
  }
}

void print_json(const std::vector<Row>& rows, const Sizes& sizes, const ServerProfile& profile,
                const std::vector<std::string>& appendix) {
  pq::JsonWriter out;
  auto numbers = [&](const std::vector<double>& values) {
    out.begin_array();
    for (double value : values) out.number(value);
    out.end_array();
  };
  out.begin_object();
  out.key("server");
  out.begin_object();
  const std::pair<const char*, const std::string*> server[] = {
      {"version", &profile.version}, {"fsync", &profile.fsync},
      {"synchronous_commit", &profile.synchronous_commit}, {"full_page_writes", &profile.full_page_writes}};
  for (const auto& [name, value] : server) {
    out.key(name);
    out.string(*value);
  }
  out.key("profile");
  out.string(profile.name());
  out.end_object();
  out.key("sizes");
  out.begin_object();
  const std::pair<const char*, int> counts[] = {{"put_one", sizes.put_one}, {"producers", sizes.producers}, {"put_many", sizes.put_many},
                                                {"drain", sizes.drain}, {"wakeups", sizes.wakeups},
                                                {"background", sizes.background}};
  for (const auto& [name, value] : counts) {
    out.key(name);
    out.integer(value);
  }
  out.end_object();
  out.key("workloads");
  out.begin_array();
  for (const auto& row : rows) {
    out.begin_object();
    out.key("workload");
    out.string(row.workload);
    out.key("unit");
    out.string(row.unit);
    out.key("pq");
    out.number(row.pq());
    out.key("pq_runs");
    numbers(row.pq_runs);
    if (row.has_floor()) {
      out.key("floor");
      out.number(row.floor());
      out.key("floor_runs");
      numbers(row.floor_runs);
      out.key("floor_is");
      out.string(row.floor_name);
      out.key("ratio");
      out.number(row.ratio());
    }
    out.key("goals");
    out.begin_array();
    for (const auto& goal : row.goals) {
      out.begin_object();
      out.key("goal");
      out.string(goal.text(row.unit));
      out.key("met");
      out.boolean(row.met(goal));
      out.end_object();
    }
    out.end_array();
    out.end_object();
  }
  out.end_array();
  out.key("appendix");
  out.begin_array();
  for (const auto& text : appendix) out.string(text);
  out.end_array();
  out.end_object();
  fmt::print("{}\n", out.str());
}

void write_svg(const std::vector<Row>& rows, const std::string& path) {
  constexpr int kWidth = 900, kLabel = 290, kBars = 430, kBar = 16, kPair = 52, kTop = 56;
  std::vector<const Row*> shown;
  for (const auto& row : rows) {
    if (row.has_floor()) shown.push_back(&row);
  }
  const int height = kTop + static_cast<int>(shown.size()) * kPair + 16;
  std::string svg = fmt::format(
      "<svg xmlns=\"http://www.w3.org/2000/svg\" width=\"{0}\" height=\"{1}\" viewBox=\"0 0 {0} {1}\" "
      "font-family=\"sans-serif\" font-size=\"12\">\n<rect width=\"100%\" height=\"100%\" fill=\"white\"/>\n"
      "<text x=\"12\" y=\"22\" font-size=\"15\" font-weight=\"bold\">pq against the floor (median of {2} runs)"
      "</text>\n<rect x=\"{3}\" y=\"32\" width=\"12\" height=\"12\" fill=\"#2f6db5\"/>"
      "<text x=\"{4}\" y=\"42\">pq</text>\n<rect x=\"{5}\" y=\"32\" width=\"12\" height=\"12\" fill=\"#b0b0b0\"/>"
      "<text x=\"{6}\" y=\"42\">floor (pgbench, bare libpq; for W5, the plain W3 drain)</text>\n",
      kWidth, height, kRuns, kLabel, kLabel + 16, kLabel + 60, kLabel + 76);
  for (std::size_t i = 0; i < shown.size(); ++i) {
    const auto& row = *shown[i];
    const int y = kTop + static_cast<int>(i) * kPair;
    const double scale = std::max(row.pq(), row.floor());
    auto bar = [&](double value, int at, const char* colour) {
      const int width = scale > 0 ? static_cast<int>(std::lround(value / scale * kBars)) : 0;
      svg += fmt::format("<rect x=\"{}\" y=\"{}\" width=\"{}\" height=\"{}\" fill=\"{}\"/>", kLabel, at,
                         std::max(width, 1), kBar, colour);
      svg += fmt::format("<text x=\"{}\" y=\"{}\">{}</text>\n", kLabel + std::max(width, 1) + 6, at + 12,
                         xml_escape(value_text(value, row.unit)));
    };
    svg += fmt::format("<text x=\"12\" y=\"{}\">{}</text>", y + 14, xml_escape(row.workload));
    svg += fmt::format("<text x=\"12\" y=\"{}\" fill=\"#555\">ratio {:.2f}{}</text>\n", y + 31, row.ratio(),
                       row.unit == "ms" ? ", lower is better" : "");
    bar(row.pq(), y, "#2f6db5");
    bar(row.floor(), y + kBar + 2, "#b0b0b0");
  }
  svg += "</svg>\n";
  std::ofstream out(path);
  out << svg;
  if (!out) throw pq::Error(fmt::format("cannot write {}", path));
}

}  // namespace pq::bench
