#include "report/step_timeline.h"

#include <gtest/gtest.h>

namespace distgru::report {
namespace {

const char* kTrace = R"trace({"traceEvents":[
  {"name":"process_name","ph":"M","pid":1,"tid":0,"args":{"name":"rank 1 (b)"}},
  {"name":"thread_name","ph":"M","pid":1,"tid":0,"args":{"name":"main: step"}},
  {"name":"thread_name","ph":"M","pid":1,"tid":1,"args":{"name":"communication: gradient buckets"}},
  {"name":"forward","ph":"X","pid":1,"tid":0,"ts":1000500,"dur":2000,"args":{"step":3}},
  {"name":"allreduce bucket 0","ph":"X","pid":1,"tid":1,"ts":1003000,"dur":500,"args":{"step":3}},
  {"name":"data","ph":"X","pid":0,"tid":0,"ts":1000000,"dur":250,"args":{"step":3}}
]})trace";

TEST(StepTimeline, ReadsSpansWithRowsAndTimesFromTheFirstSpan) {
  const auto spans = parse_chrome_trace(kTrace, "trace.json");
  ASSERT_EQ(spans.size(), 3u);
  EXPECT_EQ(spans[0].row, "rank 1 (b), main");
  EXPECT_EQ(spans[0].name, "forward");
  EXPECT_DOUBLE_EQ(spans[0].begin_ms, 0.5);
  EXPECT_DOUBLE_EQ(spans[0].end_ms, 2.5);
  EXPECT_EQ(spans[0].step, 3);
  EXPECT_EQ(spans[1].row, "rank 1 (b), communication");
  EXPECT_EQ(spans[2].row, "process 0, thread 0");  // no names given
  EXPECT_DOUBLE_EQ(spans[2].begin_ms, 0.0);
}

TEST(StepTimeline, TextThatIsNotATraceIsAnErrorNamingTheFile) {
  for (const std::string bad : {"{not json", R"({"events":[]})", R"({"traceEvents":3})"}) {
    try {
      parse_chrome_trace(bad, "run/trace.json");
      FAIL() << bad;
    } catch (const std::exception& e) {
      EXPECT_NE(std::string(e.what()).find("run/trace.json"), std::string::npos) << e.what();
    }
  }
}

TEST(StepTimeline, ChartHasARowPerThreadAndAColourPerKind) {
  const auto c = timeline_chart(parse_chrome_trace(kTrace, "trace.json"), ImageFormat::kPng);
  EXPECT_EQ(c.image, "timeline.png");
  EXPECT_NE(c.script.find("\"rank 1 (b), main\" 0, \"rank 1 (b), communication\" 1, \"process 0, thread 0\" 2"),
            std::string::npos)
      << c.script;
  EXPECT_NE(c.script.find("0.500 2.500 0 0x1f77b4"), std::string::npos) << c.script;
  EXPECT_NE(c.script.find("title 'allreduce (a bucket)'"), std::string::npos);
}

}  // namespace
}  // namespace distgru::report
