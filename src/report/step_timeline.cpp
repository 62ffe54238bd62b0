#include "report/step_timeline.h"

#include <fmt/format.h>
#include <nlohmann/json.hpp>

#include <algorithm>
#include <limits>
#include <map>

#include "common/error.h"

namespace distgru::report {
namespace {

// A colour per kind of span, in the charts' palette.
std::string colour_of(const std::string& name) {
  static const std::map<std::string, std::string> colours = {
      {"data", "#999999"},     {"forward", "#1f77b4"},   {"backward", "#ff7f0e"}, {"sync wait", "#d62728"},
      {"optimizer", "#2ca02c"}, {"validation", "#9467bd"}, {"checkpoint", "#8c564b"}};
  const auto it = colours.find(name);
  if (it != colours.end()) return it->second;
  return name.rfind("allreduce", 0) == 0 ? "#17becf" : "#e377c2";
}

}  // namespace

std::vector<TraceSpan> parse_chrome_trace(const std::string& json_text, const std::string& source) {
  nlohmann::json trace;
  try {
    trace = nlohmann::json::parse(json_text);
  } catch (const nlohmann::json::exception& e) {
    DISTGRU_FAIL(source + ": not JSON: " + e.what());
  }
  DISTGRU_CHECK(trace.contains("traceEvents") && trace["traceEvents"].is_array(),
                source + ": no traceEvents array (not a Chrome trace)");
  std::map<int64_t, std::string> process;
  std::map<std::pair<int64_t, int64_t>, std::string> thread;
  for (const auto& e : trace["traceEvents"]) {
    if (e.value("ph", "") != "M") continue;
    const auto name = e.value("name", "");
    const auto value = e.contains("args") ? e["args"].value("name", "") : "";
    if (name == "process_name") process[e.value("pid", int64_t{0})] = value;
    if (name == "thread_name") thread[{e.value("pid", int64_t{0}), e.value("tid", int64_t{0})}] = value;
  }
  std::vector<TraceSpan> spans;
  double first = std::numeric_limits<double>::infinity();
  for (const auto& e : trace["traceEvents"]) {
    if (e.value("ph", "") != "X") continue;
    const int64_t pid = e.value("pid", int64_t{0}), tid = e.value("tid", int64_t{0});
    std::string row = process.count(pid) ? process[pid] : "process " + std::to_string(pid);
    const auto t = thread.find({pid, tid});
    row += ", " + (t != thread.end() ? t->second.substr(0, t->second.find(':')) : "thread " + std::to_string(tid));
    const double ts = e.value("ts", 0.0), dur = e.value("dur", 0.0);
    first = std::min(first, ts);
    spans.push_back({row, e.value("name", ""), ts, ts + dur, e.contains("args") ? e["args"].value("step", int64_t{0}) : 0});
  }
  for (auto& s : spans) {
    s.begin_ms = (s.begin_ms - first) / 1000.0;
    s.end_ms = (s.end_ms - first) / 1000.0;
  }
  return spans;
}

ChartScript timeline_chart(const std::vector<TraceSpan>& spans, ImageFormat format) {
  ChartScript c;
  c.name = "timeline";
  c.image = "timeline." + extension(format);
  std::vector<std::string> rows;
  for (const auto& s : spans) {
    if (std::find(rows.begin(), rows.end(), s.row) == rows.end()) rows.push_back(s.row);
  }
  std::string data = "$spans << EOD\n";
  std::map<std::string, std::string> legend;  // name -> colour, first seen
  for (const auto& s : spans) {
    const auto y = static_cast<double>(std::find(rows.begin(), rows.end(), s.row) - rows.begin());
    const auto colour = colour_of(s.name);
    data += fmt::format("{:.3f} {:.3f} {} 0x{}\n", s.begin_ms, s.end_ms, y, colour.substr(1));
    legend.emplace(s.name.rfind("allreduce", 0) == 0 ? "allreduce (a bucket)" : s.name, colour);
  }
  data += "EOD\n";
  std::string ytics;
  for (size_t i = 0; i < rows.size(); ++i) ytics += fmt::format("{}\"{}\" {}", i ? ", " : "", rows[i], i);
  std::string keys;
  for (const auto& [name, colour] : legend) {
    keys += fmt::format(", NaN with boxes fs solid lc rgb '{}' title '{}'", colour, name);
  }
  const std::string terminal = format == ImageFormat::kPng
                                   ? "set terminal pngcairo size 1200,420 font 'DejaVu Sans,11'\n"
                                   : "set terminal svg size 1200,420 dynamic font 'DejaVu Sans,11'\n";
  c.script = terminal + "set output '" + c.image + "'\n" + data +
             "set title 'Where the steps went, per rank and thread' font ',14'\n"
             "set xlabel 'milliseconds'\nset yrange [" + std::to_string(rows.size() - 0.4) + ":-0.6]\n"  // row 0 on top
             "set ytics (" + ytics + ")\nset grid xtics\nset key outside right top vertical\n"
             "plot $spans using (($1+$2)/2):3:(($2-$1)/2):(0.35):4 with boxxyerror fs solid 0.9 noborder "
             "lc rgb variable notitle" + keys + "\n";
  return c;
}

}  // namespace distgru::report
