// model/dense.h against torch::linear: the same layer in fp32 (to float
// rounding), within 1% and not equal in bf16, for 2-D and 3-D inputs.

#include "model/dense.h"

#include <gtest/gtest.h>

#include "model/fast_gru.h"
#include "model/onednn_gemm.h"

namespace distgru::model {
namespace {

double relative_error(const torch::Tensor& got, const torch::Tensor& want) {
  return (got - want).abs().max().item<double>() / std::max(want.abs().max().item<double>(), 1e-30);
}

// The output and the gradients of <y, dy> in x, weight and bias.
std::vector<torch::Tensor> run(const torch::Tensor& x0, const torch::Tensor& w0, const torch::Tensor& b0,
                               const torch::Tensor& dy, bool reference, Precision precision) {
  auto x = x0.clone().requires_grad_(true), w = w0.clone().requires_grad_(true),
       b = b0.clone().requires_grad_(true);
  auto y = reference ? torch::linear(x, w, b) : dense(x, w, b, precision);
  (y * dy).sum().backward();
  return {y.detach(), x.grad(), w.grad(), b.grad()};
}

TEST(Dense, MatchesTorchLinear) {
  torch::manual_seed(4);
  const char* names[] = {"y", "dx", "dW", "db"};
  for (const auto& shape : std::vector<std::vector<int64_t>>{{37, 24}, {5, 13, 24}}) {
    const auto x = torch::randn(shape);
    const auto w = torch::randn({9, 24}), b = torch::randn({9});
    auto out_shape = shape;
    out_shape.back() = 9;
    const auto dy = torch::randn(out_shape);
    const auto want = run(x, w, b, dy, true, Precision::kFloat32);
    const auto fp32 = run(x, w, b, dy, false, Precision::kFloat32);
    for (size_t i = 0; i < want.size(); ++i) {
      ASSERT_EQ(fp32[i].sizes(), want[i].sizes()) << names[i];
      EXPECT_LE(relative_error(fp32[i], want[i]), 1e-5) << names[i];
    }
    if (effective_precision(Precision::kBFloat16) != Precision::kBFloat16) continue;
    const auto bf16 = run(x, w, b, dy, false, Precision::kBFloat16);
    for (size_t i = 0; i < 3; ++i) {  // db is a float32 sum of dy: exact either way
      EXPECT_LE(relative_error(bf16[i], want[i]), 1e-2) << names[i];
      EXPECT_GT(relative_error(bf16[i], want[i]), 1e-5) << names[i] << ": bf16 gave float32's values";
    }
  }
}

}  // namespace
}  // namespace distgru::model
