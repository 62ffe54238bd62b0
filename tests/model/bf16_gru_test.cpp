// The fast GRU with --precision bf16 (bfloat16 operands, float32
// accumulation through oneDNN) against itself in float32, and the pieces it
// rests on: the float -> bfloat16 rounding and the CPU check that decides
// whether bf16 runs at all.

#include <gtest/gtest.h>

#include <cmath>
#include <cstring>
#include <fstream>
#include <limits>
#include <random>
#include <sstream>
#include <string>
#include <vector>

#include "model/fast_gru.h"
#include "model/onednn_gemm.h"

namespace distgru::model {
namespace {

bool bf16_runs_here() { return effective_precision(Precision::kBFloat16) == Precision::kBFloat16; }

double relative_error(const torch::Tensor& got, const torch::Tensor& want) {
  const double scale = want.abs().max().item<double>();
  return (got - want).abs().max().item<double>() / std::max(scale, 1e-30);
}

struct Layer {
  torch::nn::GRU gru;
  GRUDirectionWeights forward, reverse;
  Layer(int64_t input, int64_t hidden)
      : gru(torch::nn::GRUOptions(input, hidden).batch_first(true).bidirectional(true)) {
    auto p = gru->named_parameters();
    forward = {p["weight_ih_l0"], p["weight_hh_l0"], p["bias_ih_l0"], p["bias_hh_l0"]};
    reverse = {p["weight_ih_l0_reverse"], p["weight_hh_l0_reverse"], p["bias_ih_l0_reverse"],
               p["bias_hh_l0_reverse"]};
  }
  // The output, then the gradients of <output, dy> in x and the 8 weights.
  std::vector<torch::Tensor> run(const torch::Tensor& x0, const torch::Tensor& dy, Precision precision) {
    auto x = x0.clone().requires_grad_(true);
    for (auto& p : gru->parameters()) p.mutable_grad() = torch::Tensor();
    auto out = fast_bidirectional_gru(x, forward, reverse, precision);
    (out * dy).sum().backward();
    std::vector<torch::Tensor> all{out.detach(), x.grad().clone()};
    for (const auto* d : {&forward, &reverse}) {
      for (const auto* t : {&d->w_ih, &d->w_hh, &d->b_ih, &d->b_hh}) all.push_back(t->grad().clone());
    }
    return all;
  }
};

const char* kNames[] = {"output", "x",      "w_ih_f", "w_hh_f", "b_ih_f",
                        "b_hh_f", "w_ih_r", "w_hh_r", "b_ih_r", "b_hh_r"};

// bfloat16 keeps 8 significant bits (relative rounding 2^-9 = 0.2%); with
// float32 sums over up to 256 products and 40 recurrent steps, the output
// and every gradient stay within 1% of float32's largest value (measured: 0.07-0.3%). A bf16 that
// silently ran in float32 would be exact: the test also asks for a
// difference.
TEST(Bf16GRU, OutputAndGradientsFollowFloat32WithinOnePercent) {
  if (!bf16_runs_here()) GTEST_SKIP() << "bf16 does not run on this CPU: " << onednn_isa();
  torch::manual_seed(5);
  Layer layer(/*input=*/100, /*hidden=*/64);
  const auto x = torch::randn({12, 40, 100}) * 0.5;
  const auto dy = torch::randn({12, 40, 128});
  const auto fp32 = layer.run(x, dy, Precision::kFloat32);
  const auto bf16 = layer.run(x, dy, Precision::kBFloat16);
  for (size_t i = 0; i < fp32.size(); ++i) {
    const double error = relative_error(bf16[i], fp32[i]);
    EXPECT_LE(error, 1e-2) << kNames[i];
    EXPECT_GT(error, 1e-5) << kNames[i] << ": bf16 gave float32's values";
  }
}

TEST(Bf16GRU, DeterministicAndIndependentOfThreadCount) {
  if (!bf16_runs_here()) GTEST_SKIP() << "bf16 does not run on this CPU: " << onednn_isa();
  torch::manual_seed(9);
  Layer layer(16, 24);
  const auto x = torch::randn({6, 11, 16});
  const auto dy = torch::randn({6, 11, 48});
  const int threads = torch::get_num_threads();
  torch::set_num_threads(1);
  const auto a = layer.run(x, dy, Precision::kBFloat16);
  const auto b = layer.run(x, dy, Precision::kBFloat16);
  torch::set_num_threads(2);  // the two directions on two threads
  const auto c = layer.run(x, dy, Precision::kBFloat16);
  torch::set_num_threads(threads);
  for (size_t i = 0; i < a.size(); ++i) {
    EXPECT_TRUE(torch::equal(a[i], b[i])) << kNames[i];
    EXPECT_TRUE(torch::equal(a[i], c[i])) << kNames[i];
  }
}

// Against c10::BFloat16's own conversion (round to nearest even), on random
// values, exact ties, values that round up into the next binade, infinities
// and NaN.
TEST(Bf16GRU, ConversionRoundsAsPyTorchDoes) {
  std::mt19937 rng(3);
  std::vector<float> values;
  std::normal_distribution<float> normal(0.f, 10.f);
  for (int i = 0; i < 4000; ++i) values.push_back(normal(rng));
  for (uint32_t bits : {0x3F808000u, 0x3F818000u, 0xBF808000u, 0x3F7FFFFFu, 0x7F7FFFFFu, 0x7F800000u,
                        0xFF800000u, 0x00000000u, 0x80000000u, 0x3F800001u, 0x47FFFFFFu}) {
    float f;
    std::memcpy(&f, &bits, sizeof f);
    values.push_back(f);
  }
  values.push_back(std::numeric_limits<float>::quiet_NaN());
  std::vector<uint16_t> got(values.size());
  // Rows of 37 (not a multiple of 16) with a gap between output rows: the
  // vector loop's tail and the strides are exercised too.
  const int64_t cols = 37, rows = static_cast<int64_t>(values.size()) / cols;
  std::vector<uint16_t> strided(rows * (cols + 3), 0xABCD);
  to_bfloat16(values.data(), cols, strided.data(), cols + 3, rows, cols);
  for (int64_t r = 0; r < rows; ++r) {
    for (int64_t j = 0; j < cols; ++j) {
      const float f = values[r * cols + j];
      const uint16_t want = c10::BFloat16(f).x;
      const uint16_t have = strided[r * (cols + 3) + j];
      if (std::isnan(f)) {
        EXPECT_EQ(have & 0x7F80, 0x7F80) << "NaN at " << r * cols + j;
        EXPECT_NE(have & 0x007F, 0) << "NaN at " << r * cols + j;
      } else {
        EXPECT_EQ(have, want) << "value " << f << " at " << r * cols + j;
      }
    }
    for (int64_t j = cols; j < cols + 3; ++j) EXPECT_EQ(strided[r * (cols + 3) + j], 0xABCD) << "gap written";
  }
}

// bf16 runs exactly where /proc/cpuinfo lists AVX512_BF16 or AMX-BF16 (read
// here independently of oneDNN's own detection), and otherwise falls back
// to fp32 with a reason for the log.
TEST(Bf16GRU, RunsWhereTheCpuHasBf16InstructionsAndFallsBackElsewhere) {
  if (!onednn_available()) GTEST_SKIP() << "built without oneDNN";
  std::ifstream cpuinfo("/proc/cpuinfo");
  std::string line, flags;
  while (std::getline(cpuinfo, line)) {
    if (line.rfind("flags", 0) == 0) {
      flags = " " + line.substr(line.find(':') + 1) + " ";
      break;
    }
  }
  ASSERT_FALSE(flags.empty()) << "no flags line in /proc/cpuinfo";
  const bool has = flags.find(" avx512_bf16 ") != std::string::npos || flags.find(" amx_bf16 ") != std::string::npos;
  std::string why;
  const Precision got = effective_precision(Precision::kBFloat16, &why);
  EXPECT_EQ(got == Precision::kBFloat16, has) << "cpu flags:" << flags << " oneDNN ISA " << onednn_isa();
  EXPECT_EQ(why.empty(), has) << why;
  EXPECT_EQ(effective_precision(Precision::kFloat32), Precision::kFloat32);
}

}  // namespace
}  // namespace distgru::model
