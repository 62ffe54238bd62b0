#include "distributed/bucket_plan.h"

#include <gtest/gtest.h>

#include <set>

namespace distgru::dist {
namespace {

// The model's parameters, in registration order: embedding 20000x100, the two
// GRU directions (w_ih 384x100, w_hh 384x128, b_ih 384, b_hh 384 each), the
// attention MLP (32x256, 32, 1x32, 1) and the output layer (2x256, 2).
const std::vector<int64_t> kModel = {2000000, 38400, 49152, 384, 384, 38400, 49152, 384, 384,
                                     8192,    32,    32,    1,   512, 2};

void expect_valid(const BucketPlan& plan, const std::vector<int64_t>& numels) {
  std::set<size_t> placed;
  int64_t offset = 0;
  for (size_t b = 0; b < plan.buckets.size(); ++b) {
    const auto& bucket = plan.buckets[b];
    EXPECT_EQ(bucket.offset, offset) << "buckets are back to back";
    int64_t inside = bucket.offset;
    for (size_t i : bucket.params) {
      EXPECT_TRUE(placed.insert(i).second) << "parameter " << i << " placed twice";
      EXPECT_EQ(plan.offset_of[i], inside);
      EXPECT_EQ(plan.bucket_of[i], b);
      inside += numels[i];
    }
    EXPECT_EQ(inside - bucket.offset, bucket.numel);
    offset += bucket.numel;
  }
  EXPECT_EQ(placed.size(), numels.size());
  EXPECT_EQ(plan.numel, offset);
}

TEST(BucketPlan, OneBucketHoldsEverythingInReverseOrder) {
  const auto plan = plan_buckets(kModel, 4, 0);
  expect_valid(plan, kModel);
  ASSERT_EQ(plan.buckets.size(), 1u);
  EXPECT_EQ(plan.buckets[0].params.front(), kModel.size() - 1);
  EXPECT_EQ(plan.buckets[0].params.back(), 0u);
  EXPECT_EQ(plan.numel, 2185411);  // the model's parameter count
}

TEST(BucketPlan, OneMegabyteSeparatesTheEmbeddingFromTheRest) {
  const auto plan = plan_buckets(kModel, 4, 1000000);
  expect_valid(plan, kModel);
  ASSERT_EQ(plan.buckets.size(), 2u);
  EXPECT_EQ(plan.buckets[0].params.size(), kModel.size() - 1);  // output back to the GRU
  EXPECT_EQ(plan.buckets[1].params, std::vector<size_t>{0});     // the embedding, 91% of the bytes
  EXPECT_EQ(plan.describe(), "2 buckets: 0.74 MB (14 tensors), 8.00 MB (1 tensor)");
}

TEST(BucketPlan, CapIsRespectedUnlessOneTensorIsLarger) {
  const std::vector<int64_t> sizes = {10, 3, 3, 3, 7, 1};
  const auto plan = plan_buckets(sizes, 2, 12);  // at most 6 elements per bucket
  expect_valid(plan, sizes);
  // From the back: [5]; 1 + 7 > 6 so [4]; [3, 2] fills 6; [1]; 10 > 6 alone: [0].
  ASSERT_EQ(plan.buckets.size(), 5u);
  EXPECT_EQ(plan.buckets[0].params, std::vector<size_t>{5});
  EXPECT_EQ(plan.buckets[1].params, std::vector<size_t>{4});
  EXPECT_EQ(plan.buckets[2].params, (std::vector<size_t>{3, 2}));
  EXPECT_EQ(plan.buckets[3].params, std::vector<size_t>{1});
  EXPECT_EQ(plan.buckets[4].params, std::vector<size_t>{0});
  for (const auto& b : plan.buckets) {
    if (b.params.size() > 1) EXPECT_LE(b.numel * 2, 12);
  }
}

TEST(BucketPlan, SameInputsSamePlan) {
  const auto a = plan_buckets(kModel, 4, 250000), b = plan_buckets(kModel, 4, 250000);
  ASSERT_EQ(a.buckets.size(), b.buckets.size());
  for (size_t i = 0; i < a.buckets.size(); ++i) EXPECT_EQ(a.buckets[i].params, b.buckets[i].params);
  EXPECT_EQ(a.offset_of, b.offset_of);
}

}  // namespace
}  // namespace distgru::dist
