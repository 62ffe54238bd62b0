#include "train/weight_ema.h"

#include <gtest/gtest.h>

#include "common/error.h"

namespace distgru::train {
namespace {

std::vector<torch::Tensor> parameters_of(std::initializer_list<float> a, std::initializer_list<float> b) {
  return {torch::tensor(std::vector<float>(a)).requires_grad_(), torch::tensor(std::vector<float>(b)).reshape({1, 2})};
}

TEST(WeightEma, DecayWarmsUpAsTensorFlowsExponentialMovingAverage) {
  const WeightEma ema(0.99, parameters_of({1, 2}, {3, 4}));
  EXPECT_DOUBLE_EQ(ema.decay_at(1), 2.0 / 11.0);     // (1 + t) / (10 + t) while below the decay
  EXPECT_DOUBLE_EQ(ema.decay_at(80), 81.0 / 90.0);
  EXPECT_DOUBLE_EQ(ema.decay_at(1000), 0.99);        // then the decay itself
}

// Two updates against the formula in double precision.
TEST(WeightEma, UpdateIsTheMovingAverageOfTheParameters) {
  auto params = parameters_of({1, 2}, {3, 4});
  WeightEma ema(0.9, params);
  const double start[] = {1, 2, 3, 4};
  double expected[4];
  for (int i = 0; i < 4; ++i) expected[i] = start[i];
  const float steps[2][4] = {{5, -1, 0.5f, 8}, {-2, 7, 3, 0.25f}};
  for (int t = 1; t <= 2; ++t) {
    torch::NoGradGuard no_grad;
    params[0].copy_(torch::tensor({steps[t - 1][0], steps[t - 1][1]}));
    params[1].copy_(torch::tensor({steps[t - 1][2], steps[t - 1][3]}).reshape({1, 2}));
    ema.update(params, t);
    const double d = ema.decay_at(t);
    for (int i = 0; i < 4; ++i) expected[i] = d * expected[i] + (1 - d) * steps[t - 1][i];
  }
  const auto a = torch::cat({ema.averaged()[0].flatten(), ema.averaged()[1].flatten()});
  for (int i = 0; i < 4; ++i) EXPECT_NEAR(a[i].item<float>(), expected[i], 1e-6) << "element " << i;
  // The parameters themselves are untouched by the average.
  EXPECT_FLOAT_EQ(params[0][0].item<float>(), -2.0f);
}

TEST(WeightEma, ConvergesToParametersThatStopMoving) {
  auto params = parameters_of({0, 0}, {0, 0});
  WeightEma ema(0.5, params);
  {
    torch::NoGradGuard no_grad;
    for (auto& p : params) p.fill_(3.0);
  }
  for (int t = 1; t <= 60; ++t) ema.update(params, t);
  for (const auto& a : ema.averaged()) EXPECT_TRUE(torch::allclose(a, torch::full_like(a, 3.0), 0, 1e-6));
}

TEST(WeightEma, InPlaceSwapGivesTheTrainedValuesBackEvenOnAnError) {
  auto params = parameters_of({1, 2}, {3, 4});
  WeightEma ema(0.9, params);
  {
    torch::NoGradGuard no_grad;
    params[0].fill_(10.0);
  }
  ema.update(params, 1);  // average of params[0]: 2/11 * [1, 2] + 9/11 * 10
  const auto average = ema.averaged()[0].clone();
  try {
    const AveragedWeightsInPlace in_place(ema, params);
    EXPECT_TRUE(torch::equal(params[0], average));
    throw Error("evaluation failed");
  } catch (const Error&) {
  }
  EXPECT_TRUE(torch::equal(params[0], torch::full({2}, 10.0f)));
  EXPECT_TRUE(torch::equal(ema.averaged()[0], average));
  EXPECT_TRUE(params[0].requires_grad());
}

TEST(WeightEma, RestoreRefusesAnotherCountOrShapeByIndex) {
  WeightEma ema(0.9, parameters_of({1, 2}, {3, 4}));
  EXPECT_THROW(ema.restore({torch::zeros({2})}), Error);
  try {
    ema.restore({torch::zeros({2}), torch::zeros({2, 1})});
    FAIL() << "a [2, 1] average for a [1, 2] parameter was accepted";
  } catch (const Error& e) {
    EXPECT_NE(std::string(e.what()).find("average 1 is [2, 1], the parameter [1, 2]"), std::string::npos)
        << e.what();
  }
  ema.restore({torch::full({2}, 7.0f), torch::full({1, 2}, 8.0f)});
  EXPECT_EQ(ema.averaged()[1][0][1].item<float>(), 8.0f);
}

TEST(WeightEma, DecayOutsideZeroToOneIsRefused) {
  for (double d : {0.0, 1.0, -0.5, 1.5}) EXPECT_THROW(WeightEma(d, parameters_of({1, 2}, {3, 4})), Error) << d;
}

}  // namespace
}  // namespace distgru::train
