#include "model/attention_gru.h"

#include <gtest/gtest.h>

#include "tiny_model.h"

namespace distgru::model {
namespace {

ModelConfig tiny(bool mask = true) {
  auto c = testing::tiny_model_config();
  c.mask_padding = mask;
  return c;
}

// Two reviews of length 4 and 2 (after <start>), padded to 6.
torch::Tensor batch() {
  return torch::tensor({{1, 5, 9, 12, 0, 0}, {1, 7, 0, 0, 0, 0}}, torch::kLong);
}

TEST(AttentionGRU, TutorialSizes) {
  torch::manual_seed(0);
  AttentionGRU model(ModelConfig{});
  // Embedding 20000x100; GRU 2 directions x (3*128*(100+128) + 2*3*128);
  // attention 256*32+32 + 32+1; classifier 256*2+2.
  const int64_t gru = 2 * (3 * 128 * (100 + 128) + 2 * 3 * 128);
  EXPECT_EQ(parameter_count(*model), 20000 * 100 + gru + (256 * 32 + 32) + (32 + 1) + (256 * 2 + 2));
  auto out = model->forward(torch::randint(3, 20000, {4, 256}, torch::kLong));
  EXPECT_EQ(out.logits.sizes(), (std::vector<int64_t>{4, 2}));
  EXPECT_EQ(out.attention.sizes(), (std::vector<int64_t>{4, 256}));
}

TEST(AttentionGRU, EmbeddingInitIsUniformMinusOneToOne) {
  torch::manual_seed(1);
  AttentionGRU model(ModelConfig{});
  const auto& w = model->embedding()->weight;
  EXPECT_GE(w.min().item<float>(), -1.0f);
  EXPECT_LE(w.max().item<float>(), 1.0f);
  EXPECT_NEAR(w.mean().item<float>(), 0.0f, 0.01f);
  EXPECT_NEAR(w.std().item<float>(), 1.0f / std::sqrt(3.0f), 0.01f);  // std of U(-1,1)
}

TEST(AttentionGRU, AttentionSumsToOneAndIgnoresPadding) {
  torch::manual_seed(2);
  AttentionGRU model(tiny(true));
  auto out = model->forward(batch());
  auto sums = out.attention.sum(1);
  EXPECT_TRUE(torch::allclose(sums, torch::ones_like(sums), 1e-6, 1e-6));
  // Padded positions get no weight at all.
  EXPECT_EQ(out.attention[0].slice(0, 5).abs().sum().item<float>(), 0.0f);
  EXPECT_EQ(out.attention[1].slice(0, 2).abs().sum().item<float>(), 0.0f);
  EXPECT_GT(out.attention[1][1].item<float>(), 0.0f);
}

TEST(AttentionGRU, UnmaskedAttentionSpreadsOverPadding) {
  torch::manual_seed(2);
  AttentionGRU model(tiny(false));
  auto out = model->forward(batch());
  EXPECT_GT(out.attention[1].slice(0, 2).sum().item<float>(), 0.1f);
}

TEST(AttentionGRU, RowOfOnlyPaddingStaysFinite) {
  torch::manual_seed(3);
  AttentionGRU model(tiny(true));
  auto out = model->forward(torch::zeros({1, 6}, torch::kLong));
  EXPECT_TRUE(torch::isfinite(out.logits).all().item<bool>());
  EXPECT_TRUE(torch::isfinite(out.attention).all().item<bool>());
}

TEST(AttentionGRU, RejectsTokensOfWrongRank) {
  AttentionGRU model(tiny());
  EXPECT_THROW(model->forward(torch::zeros({6}, torch::kLong)), std::exception);
}

// Autograd against central finite differences in float64, over entries of
// every parameter tensor.
TEST(AttentionGRU, GradientMatchesFiniteDifferences) {
  torch::manual_seed(4);
  AttentionGRU model(tiny(true));
  model->to(torch::kDouble);
  auto tokens = batch();
  auto labels = torch::tensor({1, 0}, torch::kLong);
  auto loss_of = [&] {
    return torch::nn::functional::cross_entropy(model->forward(tokens).logits, labels);
  };
  model->zero_grad();
  loss_of().backward();
  torch::NoGradGuard no_grad;
  const double eps = 1e-6;
  int checked = 0;
  for (auto& named : model->named_parameters()) {
    auto p = named.value();
    auto flat = p.view({-1});
    auto grad = p.grad().view({-1});
    for (int64_t k = 0; k < std::min<int64_t>(flat.numel(), 40); k += 7) {
      const double original = flat[k].item<double>();
      flat[k] = original + eps;
      const double up = loss_of().item<double>();
      flat[k] = original - eps;
      const double down = loss_of().item<double>();
      flat[k] = original;
      const double numeric = (up - down) / (2 * eps);
      const double analytic = grad[k].item<double>();
      EXPECT_NEAR(analytic, numeric, 1e-6 + 1e-5 * std::abs(numeric)) << named.key() << "[" << k << "]";
      ++checked;
    }
  }
  EXPECT_GT(checked, 20);
}

}  // namespace
}  // namespace distgru::model
