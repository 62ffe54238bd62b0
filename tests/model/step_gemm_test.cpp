#include "model/step_gemm.h"

#include <gtest/gtest.h>
#include <torch/torch.h>

#include "common/error.h"

namespace distgru::model {
namespace {

TEST(SmallGemmBlocks, CutsTheStepProductsUnderAMillion) {
  // One rank's batch (64) and the whole batch (128), forward and backward.
  for (int64_t batch : {64, 128}) {
    const auto fwd = small_gemm_blocks(batch, 384, 128);
    EXPECT_EQ(fwd.rows, 32);
    EXPECT_EQ(fwd.cols, 192);
    const auto bwd = small_gemm_blocks(batch, 128, 384);
    EXPECT_EQ(bwd.rows, 32);
    EXPECT_EQ(bwd.cols, 64);
    EXPECT_LE(fwd.rows * fwd.cols * 128, 1000000);
    EXPECT_LE(bwd.rows * bwd.cols * 384, 1000000);
  }
}

TEST(SmallGemmBlocks, SmallProductsStayWholeAndColumnsStayMultiplesOf16) {
  const auto tiny = small_gemm_blocks(8, 24, 4);
  EXPECT_EQ(tiny.rows, 8);
  EXPECT_EQ(tiny.cols, 24);
  const auto odd = small_gemm_blocks(32, 48, 1000000);  // too big, but 48 is not halved
  EXPECT_EQ(odd.cols, 48);
  const auto deep = small_gemm_blocks(64, 512, 4096);
  EXPECT_EQ(deep.cols, 16);
}

TEST(BlockedGemm, EqualsOneProductIncludingRaggedBlocksAndAccumulation) {
  if (!blocked_gemm_available()) GTEST_SKIP() << "no cblas_sgemm in this process's BLAS";
  torch::manual_seed(5);
  struct Case { int64_t m, n, k; };
  for (const auto& c : {Case{64, 384, 128}, Case{70, 128, 384}, Case{5, 48, 7}, Case{33, 96, 100}}) {
    auto a = torch::randn({c.m, c.k});
    auto b = torch::randn({c.k, c.n});
    // C is a slice of a wider buffer: its leading dimension exceeds n.
    auto wide = torch::randn({c.m, c.n + 8});
    auto cview = wide.narrow(1, 4, c.n);
    const auto wide_before = wide.clone();
    const auto before = cview.clone();
    const GemmBlocks blocks{32, c.n >= 32 ? c.n / 2 : c.n};
    blocked_gemm(c.m, c.n, c.k, a.data_ptr<float>(), c.k, b.data_ptr<float>(), c.n, 1.0f,
                 cview.data_ptr<float>(), c.n + 8, blocks);
    auto want = before + torch::mm(a, b);
    EXPECT_TRUE(torch::allclose(cview, want, 1e-4, 1e-4)) << c.m << "x" << c.n << "x" << c.k;
    // Untouched outside the slice.
    EXPECT_TRUE(torch::equal(wide.narrow(1, 0, 4), wide_before.narrow(1, 0, 4)));
    EXPECT_TRUE(torch::equal(wide.narrow(1, c.n + 4, 4), wide_before.narrow(1, c.n + 4, 4)));
    blocked_gemm(c.m, c.n, c.k, a.data_ptr<float>(), c.k, b.data_ptr<float>(), c.n, 0.0f,
                 cview.data_ptr<float>(), c.n + 8, blocks);
    EXPECT_TRUE(torch::allclose(cview, torch::mm(a, b), 1e-4, 1e-4)) << c.m << "x" << c.n << "x" << c.k;
  }
}

TEST(BlockedGemm, RefusesEmptyBlocks) {
  if (!blocked_gemm_available()) GTEST_SKIP() << "no cblas_sgemm in this process's BLAS";
  float a = 1, b = 1, c = 0;
  EXPECT_THROW(blocked_gemm(1, 1, 1, &a, 1, &b, 1, 0.0f, &c, 1, GemmBlocks{0, 1}), Error);
}

}  // namespace
}  // namespace distgru::model
