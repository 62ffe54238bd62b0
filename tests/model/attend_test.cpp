// model/attend.h: the review-by-review Attend stage against the op-by-op
// reference (ATen): the same context, weights and five gradients in fp32 (to
// float rounding), within 2% and not equal in bf16; padding (a review of only
// padding included), a gradient through the weights, two threads, edge
// shapes (one review, one step, no mask, fewer reviews than threads), the
// unfused path ignoring the precision, and parameters that do not fit.

#include "model/attend.h"

#include <ATen/Parallel.h>
#include <gtest/gtest.h>

#include <array>

#include "common/error.h"
#include "model/fast_gru.h"
#include "model/onednn_gemm.h"

namespace distgru::model {
namespace {

double relative_error(const torch::Tensor& got, const torch::Tensor& want) {
  return (got - want).abs().max().item<double>() / std::max(want.abs().max().item<double>(), 1e-30);
}

// b2 shifts every score of a review alike, which the softmax ignores: its
// gradient is zero but for rounding, on either side. Its error is measured
// against w2's gradient (the same sums of the scores' gradients, weighted).
double error_of(const std::vector<torch::Tensor>& got, const std::vector<torch::Tensor>& want, size_t i) {
  if (i != 6) return relative_error(got[i], want[i]);
  // (With one step both are exactly zero.)
  return (got[6] - want[6]).abs().max().item<double>() / std::max(want[5].abs().max().item<double>(), 1e-30);
}

struct Case {
  torch::Tensor states, padding, d_context, d_weights;
  AttentionParameters p;
};

Case make_case(int64_t B, int64_t T, int64_t D, int64_t A) {
  Case c;
  c.states = torch::randn({B, T, D});
  c.padding = torch::zeros({B, T}, torch::kBool);
  c.padding.select(0, 0).narrow(0, T / 2, T - T / 2).fill_(true);  // a half-padded review
  c.padding.select(0, B - 1).fill_(true);                          // a review of only padding
  c.p = {torch::randn({A, D}) * 0.3, torch::randn({A}) * 0.1, torch::randn({1, A}), torch::randn({1})};
  c.d_context = torch::randn({B, D});
  c.d_weights = torch::randn({B, T});
  return c;
}

// context, weights, then the gradients of <context, dc> + <weights, dw> in
// the states and the four parameters.
std::vector<torch::Tensor> run(const Case& c, bool fused, Precision precision, bool weights_grad = true) {
  auto states = c.states.clone().requires_grad_(true);
  AttentionParameters p;
  std::vector<torch::Tensor> leaves;
  for (const auto* t : {&c.p.w1, &c.p.b1, &c.p.w2, &c.p.b2}) leaves.push_back(t->clone().requires_grad_(true));
  p = {leaves[0], leaves[1], leaves[2], leaves[3]};
  const auto out = fused ? attend(states, c.padding, p, precision) : attend_reference(states, c.padding, p);
  auto loss = (out.context * c.d_context).sum();
  if (weights_grad) loss = loss + (out.weights * c.d_weights).sum();
  loss.backward();
  return {out.context.detach(), out.weights.detach(), states.grad(), leaves[0].grad(), leaves[1].grad(),
          leaves[2].grad(), leaves[3].grad()};
}

const char* kNames[] = {"context", "weights", "d_states", "d_w1", "d_b1", "d_w2", "d_b2"};

TEST(Attend, FusedMatchesOpByOpReference) {
  if (!onednn_available()) GTEST_SKIP() << "built without oneDNN: attend() is the reference itself";
  torch::manual_seed(7);
  const auto c = make_case(5, 37, 24, 8);
  for (bool weights_grad : {true, false}) {
    const auto want = run(c, false, Precision::kFloat32, weights_grad);
    const auto got = run(c, true, Precision::kFloat32, weights_grad);
    for (size_t i = 0; i < want.size(); ++i) {
      ASSERT_EQ(got[i].sizes(), want[i].sizes()) << kNames[i];
      EXPECT_LE(error_of(got, want, i), 1e-5) << kNames[i] << " (weights_grad " << weights_grad << ")";
    }
  }
  const auto w = run(c, true, Precision::kFloat32)[1];
  EXPECT_TRUE(torch::allclose(w.sum(1), torch::ones({5}), 0, 1e-6)) << "each review's weights sum to 1";
  EXPECT_EQ(w[0].narrow(0, 18, 19).abs().max().item<float>(), 0.0f) << "padding gets no weight";
  EXPECT_TRUE(torch::allclose(w[4], torch::full({37}, 1.0f / 37), 0, 1e-7))
      << "a review of only padding gets uniform weights, not NaN";
}

// Edge shapes: one review, one step, no padding mask, widths that are not
// whole vectors, and two threads with fewer reviews than threads.
TEST(Attend, EdgeShapesMatchTheReference) {
  if (!onednn_available()) GTEST_SKIP() << "built without oneDNN";
  torch::manual_seed(11);
  const int saved = at::get_num_threads();
  for (const auto& [B, T, D, A] : std::vector<std::array<int64_t, 4>>{{1, 1, 6, 3}, {1, 9, 5, 7}, {3, 1, 10, 2}}) {
    for (int threads : {1, 2}) {
      at::set_num_threads(threads);
      auto c = make_case(B, T, D, A);
      c.padding = torch::Tensor();
      const auto want = run(c, false, Precision::kFloat32);
      const auto got = run(c, true, Precision::kFloat32);
      for (size_t i = 0; i < want.size(); ++i) {
        EXPECT_LE(error_of(got, want, i), 1e-5)
            << kNames[i] << " at B " << B << " T " << T << " D " << D << " A " << A << ", " << threads << " thread(s)";
      }
    }
  }
  at::set_num_threads(saved);
}

// bfloat16 keeps 8 bits of each operand (0.4% rounding); through the
// softmax's and the ReLU's gradients that grows to about 1%.
TEST(Attend, Bf16ProductsStayWithinTwoPercent) {
  if (effective_precision(Precision::kBFloat16) != Precision::kBFloat16) {
    GTEST_SKIP() << "this CPU has no native bf16 products";
  }
  torch::manual_seed(8);
  const auto c = make_case(4, 29, 36, 12);  // widths that are not whole vectors
  const auto want = run(c, false, Precision::kFloat32);
  const auto bf16 = run(c, true, Precision::kBFloat16);
  for (size_t i = 0; i < want.size(); ++i) {
    EXPECT_LE(error_of(bf16, want, i), 2e-2) << kNames[i];
  }
  // The products' outputs move: bf16 ran, not float32 under another name.
  for (size_t i : {0, 2, 3}) {
    EXPECT_GT(relative_error(bf16[i], want[i]), 1e-5) << kNames[i] << ": bf16 gave float32's values";
  }
}

TEST(Attend, TwoThreadsGiveTheSameValuesAndRepeatExactly) {
  if (!onednn_available()) GTEST_SKIP() << "built without oneDNN";
  torch::manual_seed(9);
  const auto c = make_case(7, 21, 16, 8);
  const int saved = at::get_num_threads();
  at::set_num_threads(2);
  const auto a = run(c, true, Precision::kFloat32), b = run(c, true, Precision::kFloat32);
  at::set_num_threads(saved);
  const auto want = run(c, false, Precision::kFloat32);
  for (size_t i = 0; i < want.size(); ++i) {
    EXPECT_TRUE(torch::equal(a[i], b[i])) << kNames[i] << " differs between two runs on two threads";
    EXPECT_LE(error_of(a, want, i), 1e-5) << kNames[i];
  }
}

// fused = false is the ATen path in float32 whatever the precision (the
// model's --aten-gru with --precision bf16).
TEST(Attend, UnfusedIgnoresThePrecision) {
  torch::manual_seed(13);
  const auto c = make_case(2, 7, 8, 4);
  const auto want = run(c, false, Precision::kFloat32);
  auto states = c.states.clone();
  const auto out = attend(states, c.padding, c.p, Precision::kBFloat16, /*fused=*/false);
  EXPECT_TRUE(torch::equal(out.context, want[0]));
  EXPECT_TRUE(torch::equal(out.weights, want[1]));
}

TEST(Attend, RefusesShapesThatDoNotFit) {
  torch::manual_seed(10);
  const auto c = make_case(2, 5, 6, 3);
  auto p = c.p;
  p.w1 = torch::randn({3, 7});
  EXPECT_THROW(attend(c.states, c.padding, p, Precision::kFloat32), Error);
  EXPECT_THROW(attend(c.states, torch::zeros({2, 4}, torch::kBool), c.p, Precision::kFloat32), Error);
  EXPECT_THROW(attend(c.states, torch::zeros({2, 5}), c.p, Precision::kFloat32), Error);
  EXPECT_THROW(attend(c.states.select(0, 0), c.padding, c.p, Precision::kFloat32), Error);
  p = c.p;
  p.b1 = c.p.b1.unsqueeze(0);  // [1, A]: its gradient would come back [A]
  EXPECT_THROW(attend(c.states, c.padding, p, Precision::kFloat32), Error);
  p = c.p;
  p.w1 = torch::randn({6});
  EXPECT_THROW(attend(c.states, c.padding, p, Precision::kFloat32), Error);
  p = c.p;
  p.w2 = c.p.w2.to(torch::kDouble);
  EXPECT_THROW(attend(c.states, c.padding, p, Precision::kFloat32), Error);
}

}  // namespace
}  // namespace distgru::model
