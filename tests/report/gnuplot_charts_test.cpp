#include "report/gnuplot_charts.h"

#include <gtest/gtest.h>

#include <cmath>

namespace distgru::report {
namespace {

bool has(const std::string& text, const std::string& part) {
  return text.find(part) != std::string::npos;
}

TEST(GnuplotCharts, FormatsByName) {
  EXPECT_EQ(parse_choice<ImageFormat>("svg", "--format"), ImageFormat::kSvg);
  EXPECT_EQ(parse_choice<ImageFormat>("png", "--format"), ImageFormat::kPng);
  EXPECT_EQ(extension(ImageFormat::kPng), "png");
  EXPECT_THROW(parse_choice<ImageFormat>("gif", "--format"), std::exception);
}

TEST(GnuplotCharts, TrainingChartCarriesItsDataAndBothPanels) {
  StepRecord a, b;
  a.step = 10, a.epoch = 1, a.loss = 0.69, a.samples_per_sec = 1000.5;
  b.step = 20, b.epoch = 1, b.loss = 0.6, b.samples_per_sec = 1100;
  const auto c = training_chart({a, b}, ImageFormat::kPng);
  EXPECT_EQ(c.name, "training");
  EXPECT_EQ(c.image, "training.png");
  EXPECT_TRUE(has(c.script, "set terminal pngcairo"));
  EXPECT_TRUE(has(c.script, "set output 'training.png'"));
  EXPECT_TRUE(has(c.script, "$steps << EOD\n10 0.69 1000.5\n20 0.6 1100\nEOD\n"));
  EXPECT_TRUE(has(c.script, "multiplot layout 2,1"));
  EXPECT_TRUE(has(c.script, "samples / s"));
}

TEST(GnuplotCharts, ValidationChartWritesNanAsMissing) {
  EvalRecord v;
  v.step = 5;
  v.accuracy = 0.75;
  v.auc = std::nan("");
  const auto c = validation_chart({v}, ImageFormat::kSvg);
  EXPECT_TRUE(has(c.script, "set terminal svg"));
  EXPECT_TRUE(has(c.script, "$val << EOD\n5 0.75 NaN\nEOD\n"));
  EXPECT_TRUE(has(c.script, "title 'ROC AUC'"));
}

TEST(GnuplotCharts, RocChartShowsAucAndChance) {
  const auto c = roc_chart({{0, 0, 1}, {0.5, 1, 0.5}, {1, 1, 0}}, 0.75, ImageFormat::kSvg);
  EXPECT_TRUE(has(c.script, "(AUC 0.7500)"));
  EXPECT_TRUE(has(c.script, "$roc << EOD\n0 0\n0.5 1\n1 1\nEOD\n"));
  EXPECT_TRUE(has(c.script, "title 'chance'"));
}

TEST(GnuplotCharts, ConfusionChartLabelsEveryCellWithCountAndShare) {
  EvalRecord t;
  t.tp = 40;
  t.fp = 10;
  t.tn = 30;
  t.fn = 20;
  const auto c = confusion_chart(t, ImageFormat::kSvg);
  EXPECT_TRUE(has(c.script, "$cm << EOD\n0 0 30\n1 0 10\n0 1 20\n1 1 40\nEOD\n"));
  EXPECT_TRUE(has(c.script, R"x("true positive\n40\n(40.0%)" at 1,1 center front)x")) << c.script;
  EXPECT_TRUE(has(c.script, R"x("false negative\n20\n(20.0%)" at 0,1 center front)x"));
  EXPECT_TRUE(has(c.script, "(100 reviews)"));
}

}  // namespace
}  // namespace distgru::report
