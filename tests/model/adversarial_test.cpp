#include "model/adversarial.h"

#include <gtest/gtest.h>

#include "common/error.h"
#include "model/attention_gru.h"
#include "tiny_model.h"

namespace distgru::model {
namespace {

torch::Tensor summed_loss(const ModelOutput& out, const torch::Tensor& labels) {
  return torch::nn::functional::cross_entropy(
      out.logits, labels, torch::nn::functional::CrossEntropyFuncOptions().reduction(torch::kSum));
}

TEST(AdversarialPerturbation, EachReviewHasNormEpsilonAlongItsGradient) {
  torch::manual_seed(0);
  auto g = torch::randn({3, 5, 4});
  g[1].mul_(1000.0);  // the scale of a review's gradient does not matter
  g[2].zero_();       // nor does an all-zero one turn into NaN
  const auto r = adversarial_perturbation(g, 0.7);
  ASSERT_EQ(r.sizes(), g.sizes());
  EXPECT_FALSE(r.requires_grad());
  for (int b = 0; b < 2; ++b) {
    EXPECT_NEAR(r[b].norm().item<double>(), 0.7, 1e-5) << "review " << b;
    // Parallel to g, same sense: cosine 1.
    const double cosine =
        (r[b] * g[b]).sum().item<double>() / (r[b].norm() * g[b].norm()).item<double>();
    EXPECT_NEAR(cosine, 1.0, 1e-5) << "review " << b;
  }
  EXPECT_EQ(r[2].abs().sum().item<double>(), 0.0);
  EXPECT_THROW(adversarial_perturbation(g, -1.0), Error);
  EXPECT_THROW(adversarial_perturbation(g.flatten(1), 1.0), Error);
}

// What the perturbation is for: of all moves of the embedded words of norm
// epsilon, it raises the review's loss (to first order) the most, so more
// than any random move of the same norm, and the loss does rise.
TEST(AdversarialPerturbation, RaisesTheLossMoreThanRandomMovesOfTheSameNorm) {
  torch::manual_seed(3);
  AttentionGRU model(testing::tiny_model_config());
  model->eval();  // no dropout: the same function in every forward
  const auto tokens = torch::tensor({{1, 5, 9, 12, 0, 0}, {1, 7, 8, 0, 0, 0}}, torch::kLong);
  const auto labels = torch::tensor({1, 0}, torch::kLong);
  auto out = model->forward(tokens, /*perturbation=*/{}, /*embedded_gradient=*/true);
  out.embedded.retain_grad();
  const auto clean = summed_loss(out, labels);
  clean.backward();
  const double epsilon = 0.05;
  const auto r_adv = adversarial_perturbation(out.embedded.grad(), epsilon);
  torch::NoGradGuard no_grad;
  const double adversarial = summed_loss(model->forward(tokens, r_adv), labels).item<double>();
  EXPECT_GT(adversarial, clean.item<double>());
  for (int trial = 0; trial < 20; ++trial) {
    const auto r_random = adversarial_perturbation(torch::randn_like(r_adv), epsilon);
    EXPECT_GT(adversarial, summed_loss(model->forward(tokens, r_random), labels).item<double>())
        << "random move " << trial;
  }
}

// The perturbation lands on the embedded words: moving one position by the
// difference of two words' vectors is the same as writing the other word there.
TEST(AdversarialPerturbation, TheModelAddsItToTheEmbeddedWords) {
  torch::manual_seed(4);
  AttentionGRU model(testing::tiny_model_config());
  model->eval();
  torch::NoGradGuard no_grad;
  const auto tokens = torch::tensor({{1, 5, 9, 12}}, torch::kLong);
  const auto swapped = torch::tensor({{1, 5, 20, 12}}, torch::kLong);
  const auto& w = model->embedding()->weight;
  auto r = torch::zeros({1, 4, w.size(1)});
  r[0][2] = w[20] - w[9];
  const auto moved = model->forward(tokens, r);
  const auto expected = model->forward(swapped);
  EXPECT_TRUE(torch::allclose(moved.logits, expected.logits, 1e-5, 1e-6));
  EXPECT_TRUE(torch::allclose(moved.attention, expected.attention, 1e-5, 1e-6));
  // The output's embedded words are the lookup's, before the move.
  EXPECT_TRUE(torch::equal(moved.embedded[0][2], w[9]));
  EXPECT_FALSE(torch::equal(model->forward(tokens).logits, moved.logits));
}

}  // namespace
}  // namespace distgru::model
