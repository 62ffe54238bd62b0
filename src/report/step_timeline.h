#pragma once
// The step timeline of distgru-train --trace-steps (a Chrome trace, JSON) read
// back and drawn: one row per rank and thread, a bar per span, coloured by
// what it was (forward, backward, each bucket's allreduce, ...), so overlap
// and stragglers show without a trace viewer. Pure; no torch.

#include <string>
#include <vector>

#include "report/gnuplot_charts.h"

namespace distgru::report {

struct TraceSpan {
  std::string row;   // "rank 0 main", "rank 1 communication"
  std::string name;  // "forward", "allreduce bucket 0", ...
  double begin_ms = 0, end_ms = 0;  // from the trace's first span
  int64_t step = 0;
};

// The complete ("ph": "X") events of a Chrome trace, rows named from its
// process and thread names. Throws distgru::Error naming `source` for text
// that is not a trace.
std::vector<TraceSpan> parse_chrome_trace(const std::string& json_text, const std::string& source);

// A Gantt chart of the spans ("timeline.<ext>"), rows top to bottom in the
// order they first appear (the trace lists rank 0 first).
ChartScript timeline_chart(const std::vector<TraceSpan>& spans, ImageFormat format);

}  // namespace distgru::report
