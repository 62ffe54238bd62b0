#include "model/dropout.h"

#include <gtest/gtest.h>

#include "common/error.h"
#include "model/attention_gru.h"
#include "tiny_model.h"

namespace distgru::model {
namespace {

ModelConfig tiny(DropoutRates rates) {
  auto c = testing::tiny_model_config();
  c.dropout = rates;
  return c;
}

torch::Tensor batch() { return torch::tensor({{1, 5, 9, 12, 0, 0}, {1, 7, 3, 0, 0, 0}}, torch::kLong); }

const DropoutRates kAll{0.3, 0.2, 0.4, 0.5};

// Whole words: with a [B, T, 1] mask every component of a word is kept (and
// scaled by 1/(1-p)) or zeroed together; about p of the words are zeroed.
TEST(Dropout, WordMasksZeroWholeWordsAndScaleTheRest) {
  auto x = torch::ones({64, 50, 8});
  auto y = dropout(x, 0.25, {64, 50, 1}, dropout_generator(1, 1, 0));
  const auto per_word_min = std::get<0>(y.min(2)), per_word_max = std::get<0>(y.max(2));
  EXPECT_TRUE(torch::equal(per_word_min, per_word_max));
  EXPECT_TRUE(torch::all(y.eq(0) | (y - 1.0 / 0.75).abs().lt(1e-6)).item<bool>());
  const double zeroed = per_word_min.eq(0).to(torch::kDouble).mean().item<double>();
  EXPECT_NEAR(zeroed, 0.25, 0.03);  // 3200 words: 4 standard deviations
}

TEST(Dropout, ZeroRateIsTheIdentityAndRatesOutsideZeroOneAreRefused) {
  auto x = torch::randn({3, 4});
  EXPECT_TRUE(dropout(x, 0.0, x.sizes(), std::nullopt).is_same(x));
  EXPECT_THROW(dropout(x, 1.0, x.sizes(), std::nullopt), Error);
  EXPECT_THROW(dropout(x, -0.1, x.sizes(), std::nullopt), Error);
  EXPECT_THROW(AttentionGRU(tiny({0, 0, 1.0, 0})), Error);
}

// At evaluation no mask is drawn: a model with every rate at 0.5 scores
// exactly as the same parameters without dropout (predict, eval and the
// exports all run the model in eval mode).
TEST(Dropout, NoneAtEvaluation) {
  torch::manual_seed(4);
  AttentionGRU with(tiny(kAll));
  torch::manual_seed(4);
  AttentionGRU without(tiny({}));
  with->eval();
  without->eval();
  const auto a = with->forward(batch()), b = without->forward(batch());
  EXPECT_TRUE(torch::equal(a.logits, b.logits));
  EXPECT_TRUE(torch::equal(a.attention, b.attention));
  with->train();
  EXPECT_FALSE(torch::equal(with->forward(batch()).logits, b.logits));  // it does drop while training
}

// Training masks are a function of the generator's seed alone: the same
// (seed, step, rank) gives the same logits whatever the thread count, and
// another step or rank gives others.
TEST(Dropout, MasksFollowTheStepGeneratorNotTheThreadCount) {
  torch::manual_seed(4);
  AttentionGRU model(tiny(kAll));
  model->train();
  auto logits = [&](uint64_t seed, int64_t step, int rank, int threads) {
    torch::set_num_threads(threads);
    model->set_dropout_generator(dropout_generator(seed, step, rank));
    return model->forward(batch()).logits;
  };
  const int threads = torch::get_num_threads();
  const auto one = logits(7, 3, 0, 1);
  EXPECT_TRUE(torch::equal(one, logits(7, 3, 0, 2)));
  EXPECT_TRUE(torch::equal(one, logits(7, 3, 0, 1)));
  EXPECT_FALSE(torch::equal(one, logits(7, 4, 0, 1)));
  EXPECT_FALSE(torch::equal(one, logits(7, 3, 1, 1)));
  EXPECT_FALSE(torch::equal(one, logits(8, 3, 0, 1)));
  torch::set_num_threads(threads);
}

// The masks are ATen's uniform_ draws made into keep / 1-p in one pass; they
// must stay the same bits as the formulation runs before it were trained
// with (draw.ge(p), to float, div_(1 - p)), so a run resumed across the
// change follows the same trajectory.
TEST(Dropout, MasksAreTheBitsOfAtensFormulation) {
  const auto x = torch::randn({4, 33, 7});
  for (const double p : {0.1, 0.2, 0.3, 0.55}) {
    const auto got = dropout(x, p, x.sizes(), dropout_generator(11, 5, 1));
    auto draw = torch::empty(x.sizes());
    draw.uniform_(0.0, 1.0, dropout_generator(11, 5, 1));
    const auto want = x * draw.ge(p).to(torch::kFloat).div_(1.0 - p);
    EXPECT_TRUE(torch::equal(got, want)) << "p " << p;
  }
}

}  // namespace
}  // namespace distgru::model
