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

// --ema-decay writes the weight average's validation at the same step as the
// trained weights': it is kept apart, never in place of the other.
TEST(RunMetrics, TheWeightAveragesValidationIsKeptApart) {
  std::istringstream in(
      R"({"step":20,"split":"validation","accuracy":0.7,"auc":0.8,"loss":0.55,"tp":1,"fp":2,"tn":3,"fn":4}
{"step":20,"split":"validation_ema","accuracy":0.75,"auc":0.85,"loss":0.5,"tp":1,"fp":2,"tn":3,"fn":4}
)");
  const auto run = parse_metrics_jsonl(in, "m.jsonl");
  ASSERT_EQ(run.validation.size(), 1u);
  EXPECT_DOUBLE_EQ(run.validation[0].accuracy, 0.7);
  ASSERT_EQ(run.validation_ema.size(), 1u);
  EXPECT_DOUBLE_EQ(run.validation_ema[0].accuracy, 0.75);
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

// One record type and one layout for metrics.jsonl, test_metrics.json and
// distgru-eval --output: what to_json writes, the parser reads back whole.
TEST(RunMetrics, RecordsRoundTripThroughTheirJson) {
  EvalRecord e;
  e.step = 700;
  e.split = "test";
  e.samples = 25000;
  e.accuracy = 0.88456;
  e.auc = 0.9544191744;
  e.loss = 0.326;
  e.tp = 10900;
  e.fp = 1300;
  e.tn = 11214;
  e.fn = 1586;
  e.checkpoint = "run/best.pt";
  const auto j = to_json(e);
  EXPECT_DOUBLE_EQ(j.at("precision").get<double>(), 10900.0 / 12200.0);
  EXPECT_DOUBLE_EQ(j.at("recall").get<double>(), 10900.0 / 12486.0);
  const auto back = parse_eval_record(j.dump(), "eval.json");
  EXPECT_EQ(back.step, e.step);
  EXPECT_EQ(back.split, e.split);
  EXPECT_EQ(back.samples, e.samples);
  EXPECT_EQ(back.accuracy, e.accuracy);
  EXPECT_EQ(back.auc, e.auc);
  EXPECT_EQ(back.loss, e.loss);
  EXPECT_EQ(back.tp, e.tp);
  EXPECT_EQ(back.fp, e.fp);
  EXPECT_EQ(back.tn, e.tn);
  EXPECT_EQ(back.fn, e.fn);
  EXPECT_EQ(back.checkpoint, e.checkpoint);
  EXPECT_DOUBLE_EQ(back.f1(), 2 * e.precision() * e.recall() / (e.precision() + e.recall()));

  StepRecord s;
  s.step = 20;
  s.epoch = 1;
  s.loss = 0.5;
  s.samples_per_sec = 480.5;
  s.lr = 0.002;
  s.sync_seconds = 0.001;
  std::istringstream in(to_json(s).dump() + "\n" + to_json(e).dump() + "\n");
  const auto run = parse_metrics_jsonl(in, "m.jsonl");
  ASSERT_EQ(run.steps.size(), 1u);
  EXPECT_EQ(run.steps[0].epoch, 1);
  EXPECT_EQ(run.steps[0].lr, 0.002);
  EXPECT_EQ(run.steps[0].sync_seconds, 0.001);
  ASSERT_TRUE(run.test.has_value());
  EXPECT_EQ(run.test->tp, 10900);
}

TEST(RunMetrics, UndefinedRatiosAreZero) {
  EvalRecord nothing_predicted_positive;
  nothing_predicted_positive.tn = 5;
  nothing_predicted_positive.fn = 5;
  EXPECT_EQ(nothing_predicted_positive.precision(), 0.0);
  EXPECT_EQ(nothing_predicted_positive.recall(), 0.0);
  EXPECT_EQ(nothing_predicted_positive.f1(), 0.0);
}

}  // namespace
}  // namespace distgru::report
