// model/onednn_gemm.h's tensor form: the layout of each operand is read from
// its strides (row-major, column-major, padded rows), accumulation adds, and
// operands it cannot read are refused with a message rather than misread;
// PackedProduct multiplies by the B it packed.

#include "model/onednn_gemm.h"

#include <gtest/gtest.h>

#include "common/error.h"

namespace distgru::model {
namespace {

TEST(OnednnProduct, ReadsEachOperandsLayoutFromItsStrides) {
  if (!onednn_available()) GTEST_SKIP() << "built without oneDNN";
  torch::manual_seed(11);
  const auto a = torch::randn({7, 5}), b = torch::randn({5, 9});
  const auto want = torch::mm(a, b);
  // Transposed views (column-major) and a row stride wider than the row.
  const auto a_cols = a.t().contiguous().t(), b_cols = b.t().contiguous().t();
  const auto a_padded = torch::randn({7, 8}).narrow(1, 0, 5).copy_(a);
  for (const auto& [left, right] : std::vector<std::pair<torch::Tensor, torch::Tensor>>{
           {a, b}, {a_cols, b}, {a, b_cols}, {a_cols, b_cols}, {a_padded, b_cols}}) {
    auto out = torch::full({7, 9}, 1000.0f);
    onednn_product(left, right, out);
    EXPECT_TRUE(torch::allclose(out, want, 1e-5, 1e-5)) << left.strides() << " x " << right.strides();
    onednn_product(left, right, out, /*accumulate=*/true);
    EXPECT_TRUE(torch::allclose(out, 2 * want, 1e-5, 1e-5)) << "accumulate";
  }
}

// PackedProduct: B reordered once at construction gives the plain
// product's values on every call (a with a row stride wider than its row,
// accumulation), and later changes to B's memory are not seen.
TEST(PackedProduct, MultipliesByTheBItWasGiven) {
  if (!onednn_available()) GTEST_SKIP() << "built without oneDNN";
  torch::manual_seed(12);
  const int64_t m = 6, k = 40, n = 48;  // wide enough for a blocked layout
  auto b = torch::randn({k, n});
  const auto a = torch::randn({m, k + 3}).narrow(1, 0, k);
  const auto want = torch::mm(a, b);
  GemmShape s;
  s.m = m;
  s.k = k;
  s.n = n;
  s.lda = k + 3;
  s.ldb = n;
  s.ldc = n;
  for (bool accumulate : {false, true}) {
    s.accumulate = accumulate;
    PackedProduct product(s, b.data_ptr<float>());
    auto out = torch::full({m, n}, 1.0f);
    product.multiply(a.data_ptr<float>(), out.data_ptr<float>());
    product.multiply(a.data_ptr<float>(), out.data_ptr<float>());
    const auto expected = accumulate ? 1 + 2 * want : want;
    EXPECT_TRUE(torch::allclose(out, expected, 1e-5, 1e-5)) << "accumulate " << accumulate;
  }
  s.accumulate = false;
  PackedProduct product(s, b.data_ptr<float>());
  b.zero_();
  auto out = torch::empty({m, n});
  product.multiply(a.data_ptr<float>(), out.data_ptr<float>());
  EXPECT_TRUE(torch::allclose(out, want, 1e-5, 1e-5)) << "the packed copy, not b's memory, is multiplied";
  s.b_transposed = true;
  EXPECT_THROW(PackedProduct(s, b.data_ptr<float>()), Error);
}

// In bf16 (where the CPU multiplies it natively) the packed product equals
// the plain one on the same bfloat16 operands, and moves keep it working.
TEST(PackedProduct, Bf16MatchesThePlainProduct) {
  if (!onednn_available() || !onednn_native_bf16()) GTEST_SKIP() << "no native bf16 products here";
  torch::manual_seed(13);
  const int64_t m = 64, k = 128, n = 384;  // the GRU's forward step product
  const auto a = bfloat16_copy(torch::randn({m, k})), b = bfloat16_copy(torch::randn({k, n}));
  GemmShape s;
  s.m = m;
  s.k = k;
  s.n = n;
  s.lda = k;
  s.ldb = n;
  s.ldc = n;
  s.input = GemmInput::kBFloat16;
  auto plain = torch::empty({m, n});
  onednn_gemm(s, a.data_ptr(), b.data_ptr(), plain.data_ptr<float>());
  PackedProduct first(s, b.data_ptr());
  PackedProduct product = std::move(first);
  auto packed = torch::empty({m, n});
  product.multiply(a.data_ptr(), packed.data_ptr<float>());
  EXPECT_TRUE(torch::allclose(packed, plain, 1e-5, 1e-4));
}

TEST(OnednnProduct, RefusesWhatItCannotRead) {
  if (!onednn_available()) GTEST_SKIP() << "built without oneDNN";
  const auto a = torch::randn({4, 6}), b = torch::randn({6, 3});
  auto out = torch::empty({4, 3});
  const auto refused = [&](const torch::Tensor& x, const torch::Tensor& y, torch::Tensor& c,
                           const std::string& says) {
    try {
      onednn_product(x, y, c);
      ADD_FAILURE() << "accepted; expected: " << says;
    } catch (const Error& e) {
      EXPECT_NE(std::string(e.what()).find(says), std::string::npos) << e.what() << "\nexpected: " << says;
    }
  };
  refused(a, torch::randn({5, 3}), out, "[4x6] x [5x3] does not fit");
  refused(a, b.to(torch::kDouble), out, "must both be float or both bfloat16");
  auto strided = torch::randn({4, 12}).slice(1, 0, 12, 2);  // neither layout
  refused(a, torch::randn({6, 6}).slice(1, 0, 6, 2), out, "b is neither row- nor column-major");
  refused(a.unsqueeze(0), b, out, "[1x4x6] x [6x3] does not fit");
  refused(a, b, strided, "row-major output");
}

TEST(OnednnProduct, Bfloat16CopyRoundsAndKeepsTheShape) {
  const auto x = torch::randn({3, 4, 5}).transpose(0, 2);  // not contiguous
  const auto copy = bfloat16_copy(x);
  EXPECT_EQ(copy.scalar_type(), torch::kBFloat16);
  EXPECT_EQ(copy.sizes(), x.sizes());
  EXPECT_TRUE(torch::equal(copy, x.to(torch::kBFloat16)));  // c10::BFloat16 rounds to nearest even
}

}  // namespace
}  // namespace distgru::model
