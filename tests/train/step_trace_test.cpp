#include "train/step_trace.h"

#include <gtest/gtest.h>

#include "report/step_timeline.h"

namespace distgru::train {
namespace {

using namespace std::chrono_literals;

TEST(StepTrace, RangeIsAToBFromOne) {
  EXPECT_EQ(StepTrace::parse_range(""), std::nullopt);
  EXPECT_EQ(StepTrace::parse_range("5:8"), std::make_pair(int64_t{5}, int64_t{8}));
  EXPECT_EQ(StepTrace::parse_range("3:3"), std::make_pair(int64_t{3}, int64_t{3}));
  for (const std::string bad : {"5", "8:5", "0:2", "a:b", "5:8x", ":4", "2:", "-1:3"}) {
    try {
      StepTrace::parse_range(bad);
      FAIL() << bad;
    } catch (const std::exception& e) {
      EXPECT_NE(std::string(e.what()).find("--trace-steps"), std::string::npos) << e.what();
      EXPECT_NE(std::string(e.what()).find("'" + bad + "'"), std::string::npos) << e.what();
    }
  }
}

TEST(StepTrace, CoversItsStepsOnly) {
  StepTrace trace(2, 4, 0, "host");
  EXPECT_FALSE(trace.covers(1));
  EXPECT_TRUE(trace.covers(2));
  EXPECT_TRUE(trace.covers(4));
  EXPECT_FALSE(trace.covers(5));
}

// A step's parts follow one another from its start; buckets go on the
// communication thread; the report's reader reads what the trace writes.
TEST(StepTrace, StepPartsAndBucketsAsTheReportReadsThem) {
  StepTrace trace(1, 1, 1, "node-b");
  const auto t0 = StepTrace::Time{} + 1000s;
  StepTimes times;
  times.start = t0 + 1ms;
  times.forward = 0.004;
  times.backward = 0.006;
  times.sync = 0.001;
  times.optimizer = 0.002;
  trace.record_step(1, t0, t0 + 1ms, times, {{t0 + 6ms, t0 + 8ms}, {t0 + 9ms, t0 + 12ms}});
  trace.record("checkpoint", t0 + 14ms, t0 + 20ms, 1);
  const auto spans = report::parse_chrome_trace("{\"traceEvents\":[" + trace.events() + "]}", "trace");
  ASSERT_EQ(spans.size(), 8u);
  const std::vector<std::string> names = {"data",     "forward",  "backward",           "sync wait",
                                          "optimizer", "allreduce bucket 0", "allreduce bucket 1", "checkpoint"};
  const std::vector<double> begins = {0, 1, 5, 11, 12, 6, 9, 14}, ends = {1, 5, 11, 12, 14, 8, 12, 20};
  for (size_t i = 0; i < spans.size(); ++i) {
    EXPECT_EQ(spans[i].name, names[i]);
    EXPECT_NEAR(spans[i].begin_ms, begins[i], 1e-3) << names[i];
    EXPECT_NEAR(spans[i].end_ms, ends[i], 1e-3) << names[i];
    EXPECT_EQ(spans[i].step, 1);
    EXPECT_EQ(spans[i].row, names[i].rfind("allreduce", 0) == 0 ? "rank 1 (node-b), communication"
                                                                 : "rank 1 (node-b), main");
  }
}

}  // namespace
}  // namespace distgru::train
