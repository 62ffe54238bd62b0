#include "report/roc.h"

#include <gtest/gtest.h>

namespace distgru::report {
namespace {

TEST(Roc, PointsStepThroughDistinctScoresWithTiesDiagonal) {
  // Sorted: 0.9 pos, 0.8 pos + 0.8 neg (tie), 0.3 neg, 0.1 pos. 3 positives, 2 negatives.
  const std::vector<double> scores{0.3, 0.8, 0.9, 0.1, 0.8};
  const std::vector<int32_t> labels{0, 1, 1, 1, 0};
  const auto p = roc_points(scores, labels);
  ASSERT_EQ(p.size(), 5u);
  EXPECT_DOUBLE_EQ(p[0].fpr, 0.0);
  EXPECT_DOUBLE_EQ(p[0].tpr, 0.0);
  EXPECT_DOUBLE_EQ(p[1].fpr, 0.0);
  EXPECT_DOUBLE_EQ(p[1].tpr, 1.0 / 3);
  EXPECT_DOUBLE_EQ(p[1].threshold, 0.9);
  EXPECT_DOUBLE_EQ(p[2].fpr, 0.5);
  EXPECT_DOUBLE_EQ(p[2].tpr, 2.0 / 3);
  EXPECT_DOUBLE_EQ(p[3].fpr, 1.0);
  EXPECT_DOUBLE_EQ(p[3].tpr, 2.0 / 3);
  EXPECT_DOUBLE_EQ(p[4].fpr, 1.0);
  EXPECT_DOUBLE_EQ(p[4].tpr, 1.0);
  // Mann-Whitney with ties as one half: (2 + 1.5 + 0) / 6.
  EXPECT_NEAR(area_under(p), 3.5 / 6, 1e-12);
}

TEST(Roc, PerfectAndReversedScores) {
  EXPECT_DOUBLE_EQ(area_under(roc_points({0.1, 0.2, 0.8, 0.9}, {0, 0, 1, 1})), 1.0);
  EXPECT_DOUBLE_EQ(area_under(roc_points({0.9, 0.8, 0.2, 0.1}, {0, 0, 1, 1})), 0.0);
}

TEST(Roc, EmptyWhenOneClassIsMissing) {
  EXPECT_TRUE(roc_points({0.1, 0.9}, {1, 1}).empty());
  EXPECT_TRUE(roc_points({}, {}).empty());
}

TEST(Roc, RejectsMismatchedLengths) { EXPECT_THROW(roc_points({0.1, 0.2}, {1}), std::exception); }

TEST(Roc, ThinningKeepsEndsAndCount) {
  std::vector<RocPoint> points;
  for (int i = 0; i <= 1000; ++i) points.push_back({i / 1000.0, i / 1000.0, 0.0});
  const auto thin = thin_points(points, 11);
  ASSERT_EQ(thin.size(), 11u);
  EXPECT_DOUBLE_EQ(thin.front().fpr, 0.0);
  EXPECT_DOUBLE_EQ(thin[5].fpr, 0.5);
  EXPECT_DOUBLE_EQ(thin.back().fpr, 1.0);
  EXPECT_EQ(thin_points(thin, 100).size(), 11u);
}

}  // namespace
}  // namespace distgru::report
