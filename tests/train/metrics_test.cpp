#include "train/metrics.h"

#include <gtest/gtest.h>

#include <cmath>

#include "common/error.h"

namespace distgru::train {
namespace {

TEST(RocAuc, PerfectAndInvertedRankings) {
  EXPECT_DOUBLE_EQ(roc_auc({0.1, 0.2, 0.8, 0.9}, {0, 0, 1, 1}), 1.0);
  EXPECT_DOUBLE_EQ(roc_auc({0.9, 0.8, 0.2, 0.1}, {0, 0, 1, 1}), 0.0);
}

TEST(RocAuc, HandComputedWithoutTies) {
  // Positives 0.35, 0.8; negatives 0.1, 0.4. Pairs (pos > neg): 0.35>0.1,
  // 0.8>0.1, 0.8>0.4 -> 3 of 4.
  EXPECT_DOUBLE_EQ(roc_auc({0.1, 0.4, 0.35, 0.8}, {0, 0, 1, 1}), 0.75);
}

TEST(RocAuc, TiesCountOneHalf) {
  // Positives 0.5, 0.7; negatives 0.5, 0.2, 0.5. Pairs: (0.5 vs 0.5) x2 ties
  // = 1, (0.5 vs 0.2) = 1, (0.7 vs all 3) = 3 -> 5 of 6.
  EXPECT_DOUBLE_EQ(roc_auc({0.5, 0.7, 0.5, 0.2, 0.5}, {1, 1, 0, 0, 0}), 5.0 / 6.0);
  // All scores equal: exactly one half.
  EXPECT_DOUBLE_EQ(roc_auc({0.3, 0.3, 0.3, 0.3}, {1, 0, 1, 0}), 0.5);
}

TEST(RocAuc, UndefinedWithOneClass) {
  EXPECT_TRUE(std::isnan(roc_auc({0.1, 0.2}, {1, 1})));
  EXPECT_TRUE(std::isnan(roc_auc({}, {})));
}

TEST(RocAuc, AgreesWithBruteForcePairCount) {
  std::vector<double> s;
  std::vector<int32_t> y;
  for (int i = 0; i < 200; ++i) {
    s.push_back(((i * 37) % 23) / 23.0);  // many ties
    y.push_back((i * 11) % 3 == 0 ? 1 : 0);
  }
  double wins = 0, pairs = 0;
  for (size_t i = 0; i < s.size(); ++i)
    for (size_t j = 0; j < s.size(); ++j)
      if (y[i] == 1 && y[j] == 0) {
        pairs += 1;
        wins += s[i] > s[j] ? 1.0 : (s[i] == s[j] ? 0.5 : 0.0);
      }
  EXPECT_NEAR(roc_auc(s, y), wins / pairs, 1e-12);
}

TEST(Accuracy, ThresholdAtOneHalf) {
  EXPECT_DOUBLE_EQ(accuracy({0.1, 0.6, 0.5, 0.49}, {0, 1, 1, 1}), 0.75);
  auto c = confusion({0.1, 0.6, 0.5, 0.49, 0.7}, {0, 1, 1, 1, 0});
  EXPECT_EQ(c.tp, 2);
  EXPECT_EQ(c.fn, 1);
  EXPECT_EQ(c.tn, 1);
  EXPECT_EQ(c.fp, 1);
}

// Sorting by < with a NaN is undefined behaviour, and tie groups built with
// == never close around one: such scores are refused, naming how many.
TEST(Metrics, NonFiniteScoresAreRefusedNotLoopedOver) {
  const double nan = std::nan("");
  const std::vector<int32_t> labels = {1, 0, 1, 0};
  for (const auto& scores : {std::vector<double>{nan, nan, nan, nan}, std::vector<double>{0.2, nan, 0.9, 0.1},
                             std::vector<double>{0.2, INFINITY, 0.9, 0.1}}) {
    try {
      roc_auc(scores, labels);
      FAIL() << "roc_auc accepted a non-finite score";
    } catch (const Error& e) {
      EXPECT_NE(std::string(e.what()).find(std::to_string(non_finite_count(scores)) + " of 4 scores are NaN or infinite"),
                std::string::npos)
          << e.what();
    }
    EXPECT_THROW(confusion(scores, labels), Error);
    EXPECT_THROW(accuracy(scores, labels), Error);
  }
}

}  // namespace
}  // namespace distgru::train
