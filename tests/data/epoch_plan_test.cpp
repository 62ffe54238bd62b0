#include "data/epoch_plan.h"

#include <gtest/gtest.h>

#include <set>

#include "data/sampler.h"

namespace distgru::data {
namespace {

// Everything the ranks of one segment consume in `steps` steps.
std::vector<int64_t> consumed(int64_t n, int64_t batch, int64_t epoch, const std::vector<Segment>& earlier,
                              int world, int64_t steps) {
  std::vector<int64_t> all;
  for (int r = 0; r < world; ++r) {
    auto plan = plan_segment(n, batch, 42, epoch, earlier, r, world);
    for (int64_t i = 0; i < steps * plan.local_batch; ++i) all.push_back(plan.order[static_cast<size_t>(i)]);
  }
  return all;
}

TEST(EpochPlan, FirstSegmentIsEachRanksBlockInItsOwnOrder) {
  for (int world : {1, 2, 3}) {
    for (int r = 0; r < world; ++r) {
      auto plan = plan_segment(1000, 64, 42, 5, {}, r, world);
      const auto block = block_of(1000, r, world);
      const auto perm = epoch_permutation(block.size(), 42, 5, static_cast<uint64_t>(r));
      ASSERT_EQ(plan.order.size(), perm.size());
      for (size_t i = 0; i < perm.size(); ++i) EXPECT_EQ(plan.order[i], block.begin + perm[i]);
      EXPECT_EQ(plan.steps, steps_per_epoch(1000, 64, world));
      EXPECT_EQ(plan.local_batch, local_batch(64, r, world));
    }
  }
}

TEST(EpochPlan, EveryRankAgreesOnTheStepCount) {
  const std::vector<Segment> earlier = {{2, 64, 3}};
  std::set<int64_t> steps;
  for (int r = 0; r < 3; ++r) steps.insert(plan_segment(1000, 64, 42, 0, earlier, r, 3).steps);
  EXPECT_EQ(steps.size(), 1u);
}

// 2 ranks for 5 steps, then 3 ranks, then 1: no sample twice in the epoch,
// and together they cover all but less than one batch per rank of it.
TEST(EpochPlan, ResumingOnOtherWorldSizesSeesEachSampleAtMostOnce) {
  const int64_t n = 1000, batch = 64;
  std::vector<Segment> segments;
  std::vector<int64_t> seen = consumed(n, batch, 1, segments, 2, 5);
  segments.push_back({2, batch, 5});
  {
    auto more = consumed(n, batch, 1, segments, 3, 4);
    seen.insert(seen.end(), more.begin(), more.end());
    segments.push_back({3, batch, 4});
  }
  const auto last = plan_segment(n, batch, 42, 1, segments, 0, 1);
  auto rest = consumed(n, batch, 1, segments, 1, last.steps);
  seen.insert(seen.end(), rest.begin(), rest.end());
  const std::set<int64_t> unique(seen.begin(), seen.end());
  EXPECT_EQ(unique.size(), seen.size()) << "a sample was visited twice";
  EXPECT_EQ(static_cast<int64_t>(seen.size()), (5 + 4 + last.steps) * batch);
  EXPECT_GT(static_cast<int64_t>(seen.size()), n - batch);
  for (int64_t i : unique) EXPECT_TRUE(i >= 0 && i < n);
}

TEST(EpochPlan, ReplayIsDeterministic) {
  const std::vector<Segment> earlier = {{2, 30, 4}, {3, 30, 2}};
  auto a = plan_segment(777, 30, 9, 2, earlier, 1, 2);
  auto b = plan_segment(777, 30, 9, 2, earlier, 1, 2);
  EXPECT_EQ(a.order, b.order);
  EXPECT_EQ(a.steps, b.steps);
}

TEST(EpochPlan, AnEpochUsedUpLeavesNoSteps) {
  const int64_t full = steps_per_epoch(100, 10, 2);
  auto plan = plan_segment(100, 10, 1, 0, {{2, 10, full}}, 0, 1);
  EXPECT_EQ(plan.steps, 0);
}

// 5 steps of batch 64 on 2 ranks, then batch 96 on 2 ranks, then batch 32
// on 3: no sample twice, and the segments consume exactly their batches.
TEST(EpochPlan, ResumingWithAnotherGlobalBatchSeesEachSampleAtMostOnce) {
  const int64_t n = 1000;
  std::vector<Segment> segments;
  std::vector<int64_t> seen = consumed(n, 64, 0, segments, 2, 5);
  segments.push_back({2, 64, 5});
  {
    auto more = consumed(n, 96, 0, segments, 2, 3);
    seen.insert(seen.end(), more.begin(), more.end());
    segments.push_back({2, 96, 3});
  }
  const auto last = plan_segment(n, 32, 42, 0, segments, 0, 3);
  EXPECT_GT(last.steps, 0);
  auto rest = consumed(n, 32, 0, segments, 3, last.steps);
  seen.insert(seen.end(), rest.begin(), rest.end());
  const std::set<int64_t> unique(seen.begin(), seen.end());
  EXPECT_EQ(unique.size(), seen.size()) << "a sample was visited twice";
  EXPECT_EQ(static_cast<int64_t>(seen.size()), 5 * 64 + 3 * 96 + last.steps * 32);
  EXPECT_GT(static_cast<int64_t>(seen.size()), n - 3 * 32);
}

}  // namespace
}  // namespace distgru::data
