#include "model/fast_gru.h"

#include <gtest/gtest.h>

#include <string>
#include <tuple>
#include <vector>

#include "common/error.h"
#include "common/native.h"
#include "model/onednn_gemm.h"
#include "model/step_gemm.h"
#include "model/attention_gru.h"
#include "tiny_model.h"

namespace distgru::model {
namespace {

struct Sizes {
  int64_t batch, time, input, hidden;
};

// ATen's GRU as the reference, with its parameters mapped to ours.
struct Reference {
  torch::nn::GRU gru;
  GRUDirectionWeights forward, reverse;

  Reference(const Sizes& s, torch::Dtype dtype)
      : gru(torch::nn::GRUOptions(s.input, s.hidden).batch_first(true).bidirectional(true)) {
    gru->to(dtype);
    auto p = gru->named_parameters();
    forward = {p["weight_ih_l0"], p["weight_hh_l0"], p["bias_ih_l0"], p["bias_hh_l0"]};
    reverse = {p["weight_ih_l0_reverse"], p["weight_hh_l0_reverse"], p["bias_ih_l0_reverse"],
               p["bias_hh_l0_reverse"]};
  }
  std::vector<torch::Tensor> params() const {
    return {forward.w_ih, forward.w_hh, forward.b_ih, forward.b_hh,
            reverse.w_ih, reverse.w_hh, reverse.b_ih, reverse.b_hh};
  }
};

double relative_error(const torch::Tensor& got, const torch::Tensor& want) {
  const double scale = want.abs().max().item<double>();
  return (got - want).abs().max().item<double>() / std::max(scale, 1e-30);
}

// Gradients of <out, dy> w.r.t. x and the 8 weights, by either
// implementation; with input_grad false x needs none, and only the 8
// weights' come back.
std::vector<torch::Tensor> gradients(Reference& ref, const torch::Tensor& x0, const torch::Tensor& dy, bool fast,
                                     bool input_grad = true) {
  auto x = x0.clone().requires_grad_(input_grad);
  for (auto& p : ref.params()) p.mutable_grad() = torch::Tensor();
  auto out = fast ? fast_bidirectional_gru(x, ref.forward, ref.reverse)
                  : std::get<0>(ref.gru->forward(x));
  (out * dy).sum().backward();
  std::vector<torch::Tensor> grads;
  if (input_grad) grads.push_back(x.grad().clone());
  for (auto& p : ref.params()) grads.push_back(p.grad().clone());
  return grads;
}

class FastGRUTest : public ::testing::TestWithParam<std::tuple<Sizes, torch::Dtype>> {};

TEST_P(FastGRUTest, ForwardMatchesATen) {
  const auto [s, dtype] = GetParam();
  torch::manual_seed(7);
  Reference ref(s, dtype);
  auto x = torch::randn({s.batch, s.time, s.input}, torch::dtype(dtype));
  torch::NoGradGuard no_grad;
  auto want = std::get<0>(ref.gru->forward(x));
  auto got = fast_bidirectional_gru(x, ref.forward, ref.reverse);
  ASSERT_EQ(got.sizes(), want.sizes());
  EXPECT_LE(relative_error(got, want), dtype == torch::kDouble ? 1e-12 : 1e-5);
}

TEST_P(FastGRUTest, GradientsMatchATen) {
  const auto [s, dtype] = GetParam();
  const double tolerance = dtype == torch::kDouble ? 1e-5 : 1e-4;
  torch::manual_seed(11);
  Reference ref(s, dtype);
  auto x = torch::randn({s.batch, s.time, s.input}, torch::dtype(dtype));
  auto dy = torch::randn({s.batch, s.time, 2 * s.hidden}, torch::dtype(dtype));
  const char* names[] = {"x",      "w_ih_f", "w_hh_f", "b_ih_f", "b_hh_f",
                         "w_ih_r", "w_hh_r", "b_ih_r", "b_hh_r"};
  // All of the output, then each direction's half alone (so a gradient that
  // leaked from one direction into the other cannot cancel out).
  for (int part = 0; part < 3; ++part) {
    auto mask = torch::ones_like(dy);
    if (part == 1) mask.narrow(2, s.hidden, s.hidden).zero_();
    if (part == 2) mask.narrow(2, 0, s.hidden).zero_();
    auto want = gradients(ref, x, dy * mask, /*fast=*/false);
    auto got = gradients(ref, x, dy * mask, /*fast=*/true);
    for (size_t i = 0; i < want.size(); ++i) {
      EXPECT_LE(relative_error(got[i], want[i]), tolerance) << names[i] << ", part " << part;
    }
  }
}

// The rows form (fast_bidirectional_gru_rows): x[b, t] = rows[index[b, t]],
// against ATen's GRU on the gathered input, whose autograd sums the rows'
// gradients through index_select. Few rows, so each is used many times.
TEST_P(FastGRUTest, RowsFormMatchesATenOnTheGatheredInput) {
  const auto [s, dtype] = GetParam();
  const double tolerance = dtype == torch::kDouble ? 1e-5 : 1e-4;
  torch::manual_seed(17);
  Reference ref(s, dtype);
  const int64_t U = std::max<int64_t>(2, s.batch * s.time / 3);
  const auto rows0 = torch::randn({U, s.input}, torch::dtype(dtype));
  const auto index = torch::randint(U, {s.batch, s.time}, torch::kLong);
  const auto dy = torch::randn({s.batch, s.time, 2 * s.hidden}, torch::dtype(dtype));
  const GruGemm saved = fast_gru_gemm();
  std::vector<GruGemm> modes = {GruGemm::kWhole};
  if (blocked_gemm_available()) modes.push_back(GruGemm::kSmallBlocks);
  if (onednn_available()) modes.push_back(GruGemm::kOneDnn);
  for (const bool rows_grad : {true, false}) {
    std::vector<torch::Tensor> want, got;
    for (const bool fast : {false, true}) {
      auto rows = rows0.clone().requires_grad_(rows_grad);
      for (auto& p : ref.params()) p.mutable_grad() = torch::Tensor();
      auto out = fast ? fast_bidirectional_gru_rows(rows, index, ref.forward, ref.reverse)
                      : std::get<0>(ref.gru->forward(
                            rows.index_select(0, index.reshape({-1})).view({s.batch, s.time, s.input})));
      (out * dy).sum().backward();
      auto& into = fast ? got : want;
      into.push_back(out.detach());
      if (rows_grad) into.push_back(rows.grad().clone());
      for (auto& p : ref.params()) into.push_back(p.grad().clone());
    }
    ASSERT_EQ(got.size(), want.size());
    for (size_t i = 0; i < want.size(); ++i) {
      EXPECT_LE(relative_error(got[i], want[i]), tolerance) << "tensor " << i << ", rows_grad " << rows_grad;
    }
  }
  // Every product mode gives the same layer.
  for (const GruGemm mode : modes) {
    set_fast_gru_gemm(mode);
    auto rows = rows0.clone().requires_grad_(true);
    auto out = fast_bidirectional_gru_rows(rows, index, ref.forward, ref.reverse);
    set_fast_gru_gemm(saved);
    auto dense = rows0.index_select(0, index.reshape({-1})).view({s.batch, s.time, s.input});
    torch::NoGradGuard no_grad;
    EXPECT_LE(relative_error(out.detach(), std::get<0>(ref.gru->forward(dense))), tolerance)
        << "mode " << static_cast<int>(mode);
  }
  set_fast_gru_gemm(saved);
}

INSTANTIATE_TEST_SUITE_P(
    Sizes, FastGRUTest,
    ::testing::Combine(::testing::Values(Sizes{3, 7, 5, 4},    // odd everything
                                         Sizes{1, 9, 3, 6},    // batch 1
                                         Sizes{4, 1, 2, 3},    // one step
                                         Sizes{5, 13, 11, 17},
                                         Sizes{2, 16, 3, 4},   // two whole blocks of 8 steps
                                         Sizes{2, 17, 3, 4}),  // and one step more
                       ::testing::Values(torch::kDouble, torch::kFloat)));

// An input that needs no gradient (backward skips dx): the weights' are
// still ATen's.
TEST(FastGRU, WeightGradientsWithoutTheInputs) {
  torch::manual_seed(13);
  Sizes s{3, 19, 5, 4};
  Reference ref(s, torch::kDouble);
  const auto x = torch::randn({s.batch, s.time, s.input}, torch::kDouble);
  const auto dy = torch::randn({s.batch, s.time, 2 * s.hidden}, torch::kDouble);
  const auto want = gradients(ref, x, dy, /*fast=*/false, /*input_grad=*/false);
  const auto got = gradients(ref, x, dy, /*fast=*/true, /*input_grad=*/false);
  ASSERT_EQ(got.size(), 8u);
  for (size_t i = 0; i < want.size(); ++i) EXPECT_LE(relative_error(got[i], want[i]), 1e-5) << i;
}

TEST(FastGRU, DeterministicAndIndependentOfThreadCount) {
  torch::manual_seed(3);
  Sizes s{6, 10, 8, 9};
  Reference ref(s, torch::kFloat);
  auto x = torch::randn({s.batch, s.time, s.input});
  auto dy = torch::randn({s.batch, s.time, 2 * s.hidden});
  const int threads = torch::get_num_threads();
  const GruGemm saved = fast_gru_gemm();
  std::vector<GruGemm> modes = {GruGemm::kWhole};
  if (blocked_gemm_available()) modes.push_back(GruGemm::kSmallBlocks);
  if (onednn_available()) modes.push_back(GruGemm::kOneDnn);
  for (const GruGemm mode : modes) {
    set_fast_gru_gemm(mode);
    torch::set_num_threads(1);
    auto a = gradients(ref, x, dy, true);
    auto b = gradients(ref, x, dy, true);
    torch::set_num_threads(2);  // the two directions on two threads, each calling the BLAS
    auto c = gradients(ref, x, dy, true);
    torch::set_num_threads(threads);
    for (size_t i = 0; i < a.size(); ++i) {
      EXPECT_TRUE(torch::equal(a[i], b[i])) << i << " mode " << static_cast<int>(mode);
      EXPECT_LE(relative_error(c[i], a[i]), 1e-6) << i << " mode " << static_cast<int>(mode);
    }
  }
  set_fast_gru_gemm(saved);
}

// The kernels follow the CPU's feature bits, not its model number: GCC's
// target_clones("arch=...") resolver asks for the model and gave this
// machine's newer-than-the-compiler CPU the SSE2 build.
TEST(FastGRU, GateKernelsUseTheWidestVectorsTheCpuHas) {
  std::string expected = "baseline";
  if (cpu_has_avx512()) {
    expected = "AVX-512";
  } else if (cpu_has_avx2_fma()) {
    expected = "AVX2";
  }
  EXPECT_EQ(model::fast_gru_kernels(), expected);
}

// The per-step products cut into small CBLAS blocks (the default with
// OpenBLAS's AVX-512 kernels) give the same layer as whole ATen products.
TEST(FastGRU, SmallBlockStepProductsGiveTheSameLayer) {
  if (!blocked_gemm_available()) GTEST_SKIP() << "no cblas_sgemm";
  const Sizes s{70, 6, 10, 64};  // 70 rows: a ragged last block of 6
  torch::manual_seed(11);
  Reference ref(s, torch::kFloat);
  const auto x = torch::randn({s.batch, s.time, s.input});
  const auto dy = torch::randn({s.batch, s.time, 2 * s.hidden});
  const GruGemm saved = fast_gru_gemm();
  std::vector<torch::Tensor> results[2];
  for (int mode = 0; mode < 2; ++mode) {
    set_fast_gru_gemm(mode == 0 ? GruGemm::kWhole : GruGemm::kSmallBlocks);
    auto xi = x.clone().requires_grad_(true);
    for (auto& p : ref.params()) p.mutable_grad() = torch::Tensor();
    auto y = fast_bidirectional_gru(xi, ref.forward, ref.reverse);
    y.backward(dy);
    results[mode] = {y.detach(), xi.grad()};
    for (auto& p : ref.params()) results[mode].push_back(p.grad().clone());
  }
  set_fast_gru_gemm(saved);
  for (size_t i = 0; i < results[0].size(); ++i) {
    EXPECT_LE(relative_error(results[1][i], results[0][i]), 1e-5) << "tensor " << i;
  }
}

TEST(FastGRU, RejectsWhatItCannotRun) {
  Sizes s{2, 3, 4, 5};
  Reference ref(s, torch::kFloat);
  EXPECT_THROW(fast_bidirectional_gru(torch::randn({2, 3, 4}, torch::kDouble), ref.forward,
                                      ref.reverse),
               distgru::Error);
  EXPECT_THROW(fast_bidirectional_gru(torch::randn({2, 3, 7}), ref.forward, ref.reverse),
               distgru::Error);
  EXPECT_THROW(fast_bidirectional_gru(torch::randn({3, 4}), ref.forward, ref.reverse),
               distgru::Error);
}

TEST(FastGRU, RowsFormRejectsAnIndexOutsideItsRows) {
  Sizes s{2, 3, 4, 5};
  Reference ref(s, torch::kFloat);
  const auto rows = torch::randn({6, 4});
  EXPECT_NO_THROW(fast_bidirectional_gru_rows(rows, torch::full({2, 3}, 5, torch::kLong), ref.forward, ref.reverse));
  for (const int64_t bad : {int64_t{6}, int64_t{-1}}) {
    try {
      fast_bidirectional_gru_rows(rows, torch::full({2, 3}, bad, torch::kLong), ref.forward, ref.reverse);
      ADD_FAILURE() << "index " << bad << " accepted";
    } catch (const distgru::Error& e) {
      EXPECT_NE(std::string(e.what()).find("outside the 6 rows"), std::string::npos) << e.what();
    }
  }
  EXPECT_THROW(fast_bidirectional_gru_rows(rows, torch::zeros({2, 3}, torch::kInt), ref.forward, ref.reverse),
               distgru::Error);
  EXPECT_THROW(fast_bidirectional_gru_rows(torch::randn({6, 7}), torch::zeros({2, 3}, torch::kLong), ref.forward,
                                           ref.reverse),
               distgru::Error);
}

// The model's two encoder paths agree, and the switch changes no parameter name.
TEST(FastGRU, ModelPathsAgree) {
  ModelConfig config;
  config.vocab_size = 40;
  config.embed_dim = 7;
  config.hidden_size = 6;
  config.attention_size = 5;
  torch::manual_seed(5);
  AttentionGRU fast(config);
  config.fast_gru = false;
  AttentionGRU aten(config);
  fast->to(torch::kDouble);
  aten->to(torch::kDouble);
  auto fast_params = fast->named_parameters();
  auto aten_params = aten->named_parameters();
  ASSERT_EQ(fast_params.keys(), aten_params.keys());
  {
    torch::NoGradGuard no_grad;
    for (const auto& item : aten_params) item.value().copy_(fast_params[item.key()]);
  }
  auto tokens = torch::tensor({{1, 5, 9, 12, 0, 0}, {1, 7, 0, 0, 0, 0}}, torch::kLong);
  auto a = fast->forward(tokens).logits;
  auto b = aten->forward(tokens).logits;
  EXPECT_LE(relative_error(a, b), 1e-12);
  a.sum().backward();
  b.sum().backward();
  // Absolute on a unit scale: the attention score's bias has a gradient of
  // zero up to rounding (softmax ignores a shift), so no relative measure.
  for (const auto& item : aten_params) {
    const auto diff = (fast_params[item.key()].grad() - item.value().grad()).abs().max();
    EXPECT_LE(diff.item<double>(), 1e-10 * std::max(1.0, item.value().grad().abs().max().item<double>()))
        << item.key();
  }
}

// The model's forward reads each distinct word once (encode_distinct_words)
// unless asked for the dense embedded input; both give the same logits and
// gradients, in training with word dropout too (the same masks drawn from
// the same generator), in float64 so that only rounding can differ.
TEST(FastGRU, DistinctWordsPathAgreesWithTheDensePath) {
  auto config = testing::tiny_model_config();  // vocabulary of 30: the tokens below are 0..24
  config.dropout.word = 0.3;
  config.dropout.encoder = 0.2;
  torch::manual_seed(5);
  AttentionGRU model(config);
  model->to(torch::kDouble);
  auto tokens = torch::tensor({{1, 5, 9, 12, 5, 9, 0, 0}, {1, 7, 5, 5, 9, 0, 0, 0}, {1, 9, 12, 7, 7, 7, 7, 0}},
                              torch::kLong);
  for (const bool training : {false, true}) {
    model->train(training);
    std::vector<torch::Tensor> results[2];
    for (const bool dense : {false, true}) {
      for (auto& p : model->parameters()) p.mutable_grad() = torch::Tensor();
      model->set_dropout_generator(dropout_generator(42, 3, 0));
      auto out = model->forward(tokens, {}, /*embedded_gradient=*/dense);
      EXPECT_EQ(out.embedded.defined(), dense);
      (out.logits * torch::tensor({{1.0, -2.0}, {0.5, 3.0}, {-1.0, 1.5}}, torch::kDouble)).sum().backward();
      results[dense].push_back(out.logits.detach());
      results[dense].push_back(out.attention.detach());
      for (auto& p : model->parameters()) results[dense].push_back(p.grad().clone());
    }
    for (size_t i = 0; i < results[0].size(); ++i) {
      const auto diff = (results[0][i] - results[1][i]).abs().max().item<double>();
      EXPECT_LE(diff, 1e-10 * std::max(1.0, results[1][i].abs().max().item<double>()))
          << "tensor " << i << (training ? ", training" : ", evaluation");
    }
  }
  // Every position a different word: nothing to share, the dense path.
  EXPECT_TRUE(model->forward(torch::arange(1, 25, torch::kLong).view({3, 8})).embedded.defined());
  EXPECT_FALSE(model->forward(tokens).embedded.defined());
}

}  // namespace
}  // namespace distgru::model
