#include "train/lr_schedule.h"

#include <gtest/gtest.h>

#include "common/error.h"

namespace distgru::train {
namespace {

TEST(LrSchedule, ConstantIsTheBaseRate) {
  for (int64_t s : {0, 1, 350, 699}) EXPECT_DOUBLE_EQ(learning_rate_at(LrSchedule::kConstant, 1e-3, s, 700), 1e-3);
}

TEST(LrSchedule, CosineRunsFromBaseToTheFinalFractionThroughHalfWay) {
  const double base = 2e-3;
  EXPECT_DOUBLE_EQ(learning_rate_at(LrSchedule::kCosine, base, 0, 101), base);
  EXPECT_NEAR(learning_rate_at(LrSchedule::kCosine, base, 50, 101), base / 2, 1e-15);
  EXPECT_NEAR(learning_rate_at(LrSchedule::kCosine, base, 100, 101), 0.0, 1e-15);
  EXPECT_NEAR(learning_rate_at(LrSchedule::kCosine, base, 100, 101, 0, 0.1), 0.1 * base, 1e-15);
  // Monotone, and past the end it stays at the final rate.
  double previous = base;
  for (int64_t s = 1; s < 101; ++s) {
    const double lr = learning_rate_at(LrSchedule::kCosine, base, s, 101);
    EXPECT_LT(lr, previous) << s;
    previous = lr;
  }
  EXPECT_NEAR(learning_rate_at(LrSchedule::kCosine, base, 500, 101), 0.0, 1e-15);
}

TEST(LrSchedule, LinearDecayAndWarmUp) {
  EXPECT_DOUBLE_EQ(learning_rate_at(LrSchedule::kLinear, 1.0, 0, 11), 1.0);
  EXPECT_DOUBLE_EQ(learning_rate_at(LrSchedule::kLinear, 1.0, 5, 11), 0.5);
  EXPECT_DOUBLE_EQ(learning_rate_at(LrSchedule::kLinear, 1.0, 10, 11), 0.0);
  // Four warm-up updates at 1/4, 2/4, 3/4, 4/4, then the decay starts from base.
  EXPECT_DOUBLE_EQ(learning_rate_at(LrSchedule::kLinear, 1.0, 0, 14, 4), 0.25);
  EXPECT_DOUBLE_EQ(learning_rate_at(LrSchedule::kLinear, 1.0, 3, 14, 4), 1.0);
  EXPECT_DOUBLE_EQ(learning_rate_at(LrSchedule::kLinear, 1.0, 4, 14, 4), 1.0);
  EXPECT_DOUBLE_EQ(learning_rate_at(LrSchedule::kLinear, 1.0, 13, 14, 4), 0.0);
  EXPECT_DOUBLE_EQ(learning_rate_at(LrSchedule::kConstant, 1.0, 1, 14, 4), 0.5);
}

TEST(LrSchedule, NamesRoundTripAndUnknownOnesAreRefused) {
  for (auto s : {LrSchedule::kConstant, LrSchedule::kLinear, LrSchedule::kCosine})
    EXPECT_EQ(parse_choice<LrSchedule>(choice_name(s), "--lr-schedule"), s);
  try {
    parse_choice<LrSchedule>("exponential", "--lr-schedule");
    FAIL();
  } catch (const Error& e) {
    EXPECT_NE(std::string(e.what()).find("constant, linear or cosine, not 'exponential'"), std::string::npos);
  }
}

}  // namespace
}  // namespace distgru::train
