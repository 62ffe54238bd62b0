#include "report/run_metrics.h"

#include <gtest/gtest.h>

#include <cmath>
#include <sstream>

namespace distgru::report {
namespace {

TEST(RunMetrics, ReadsStepValidationAndTestRecords) {
  std::istringstream in(
      R"({"step":10,"epoch":1,"loss":0.69,"samples_per_sec":1000.5,"lr":0.003}
{"step":20,"epoch":1,"loss":0.6,"samples_per_sec":1100,"lr":0.003}
{"step":20,"split":"validation","accuracy":0.7,"auc":0.8,"loss":0.55,"tp":1,"fp":2,"tn":3,"fn":4}

{"step":20,"split":"test","accuracy":0.71,"auc":null,"loss":0.5,"tp":5,"fp":6,"tn":7,"fn":8}
)");
  const auto run = parse_metrics_jsonl(in, "m.jsonl");
  ASSERT_EQ(run.steps.size(), 2u);
  EXPECT_EQ(run.steps[1].step, 20);
  EXPECT_DOUBLE_EQ(run.steps[0].samples_per_sec, 1000.5);
  ASSERT_EQ(run.validation.size(), 1u);
  EXPECT_DOUBLE_EQ(run.validation[0].auc, 0.8);
  EXPECT_EQ(run.validation[0].fn, 4);
  ASSERT_TRUE(run.test.has_value());
  EXPECT_TRUE(std::isnan(run.test->auc));
  EXPECT_EQ(run.test->tp, 5);
}

TEST(RunMetrics, AResumedRunKeepsTheLaterRecordOfARepeatedStep) {
  std::istringstream in(
      "{\"step\":10,\"loss\":0.9,\"samples_per_sec\":1}\n{\"step\":20,\"loss\":0.8,\"samples_per_"
      "sec\":1}\n"
      "{\"step\":10,\"loss\":0.5,\"samples_per_sec\":2}\n");
  const auto run = parse_metrics_jsonl(in, "m.jsonl");
  ASSERT_EQ(run.steps.size(), 2u);
  EXPECT_DOUBLE_EQ(run.steps[0].loss, 0.5);
  EXPECT_EQ(run.steps[1].step, 20);
}

TEST(RunMetrics, ErrorsNameFileAndLine) {
  std::istringstream in("{\"step\":10,\"loss\":0.9,\"samples_per_sec\":1}\n{\"step\": oops}\n");
  try {
    parse_metrics_jsonl(in, "run/metrics.jsonl");
    FAIL() << "no error";
  } catch (const std::exception& e) {
    EXPECT_NE(std::string(e.what()).find("run/metrics.jsonl:2"), std::string::npos) << e.what();
  }
  EXPECT_THROW(parse_eval_record("{\"step\":1}", "t.json"), std::exception);
}

}  // namespace
}  // namespace distgru::report
