// The cursor over the epoch plans: the batches it hands out, where epochs
// end, and resumes on the same and on other world sizes and global batches.
#include "data/epoch_cursor.h"

#include <gtest/gtest.h>

#include <set>

#include "common/error.h"
#include "data/sampler.h"

namespace distgru::data {
namespace {

// Every rank's samples for `steps` steps, advancing all their cursors.
std::vector<int64_t> take(std::vector<EpochCursor>& ranks, int64_t steps) {
  std::vector<int64_t> seen;
  for (int64_t s = 0; s < steps; ++s) {
    for (auto& cursor : ranks) {
      const auto batch = cursor.next_batch();
      seen.insert(seen.end(), batch.begin(), batch.end());
      cursor.advance();
    }
  }
  return seen;
}

std::vector<EpochCursor> world(int64_t n, int64_t batch, int size) {
  std::vector<EpochCursor> ranks;
  for (int r = 0; r < size; ++r) ranks.emplace_back(n, batch, 42, r, size);
  return ranks;
}

TEST(EpochCursor, HandsOutEachRanksPlanInOrder) {
  EpochCursor cursor(1000, 64, 42, 1, 2);
  const auto plan = plan_segment(1000, 64, 42, 0, {}, 1, 2);
  EXPECT_EQ(cursor.steps_per_epoch(), plan.steps);
  for (int64_t s = 0; s < 3; ++s) {
    const auto batch = cursor.next_batch();
    ASSERT_EQ(static_cast<int64_t>(batch.size()), plan.local_batch);
    for (int64_t i = 0; i < plan.local_batch; ++i) EXPECT_EQ(batch[static_cast<size_t>(i)], plan.order[s * plan.local_batch + i]);
    const auto block = block_of(1000, 1, 2);
    for (auto row : batch) EXPECT_TRUE(row >= block.begin && row < block.end);
    EXPECT_FALSE(cursor.advance());
  }
  EXPECT_EQ(cursor.position().step_in_epoch, 3);
}

TEST(EpochCursor, AdvanceSaysWhenAnEpochEnds) {
  EpochCursor cursor(100, 10, 7, 0, 2);
  const int64_t per_epoch = cursor.steps_per_epoch();
  for (int64_t s = 1; s < per_epoch; ++s) EXPECT_FALSE(cursor.advance()) << s;
  EXPECT_TRUE(cursor.advance());
  EXPECT_EQ(cursor.epoch(), 1);
  EXPECT_TRUE(cursor.at_epoch_start());
  // The next epoch has its own order.
  EXPECT_NE(cursor.next_batch(), EpochCursor(100, 10, 7, 0, 2).next_batch());
}

// Resuming with the position of the same world size and batch continues the
// very same sequence (the bit-exact resume).
TEST(EpochCursor, ResumeOnTheSameWorldContinuesTheSameOrder) {
  auto straight = world(500, 32, 2);
  auto first = take(straight, 4);
  auto rest_straight = take(straight, 9);  // crosses into epoch 1
  auto stopped = world(500, 32, 2);
  take(stopped, 4);
  auto resumed = world(500, 32, 2);
  for (size_t r = 0; r < resumed.size(); ++r) EXPECT_FALSE(resumed[r].resume(stopped[r].position()));
  EXPECT_EQ(take(resumed, 9), rest_straight);
}

// 2 ranks for 3 steps, then 3 ranks with another batch: the rest of the
// epoch visits only samples not seen yet, and the epoch then ends.
TEST(EpochCursor, ResumeOnAnotherWorldAndBatchSeesEachSampleAtMostOnce) {
  const int64_t n = 600;
  auto before = world(n, 40, 2);
  EXPECT_EQ(before[0].steps_left_in_epoch(), before[0].steps_per_epoch());
  auto seen = take(before, 3);
  EXPECT_EQ(before[0].steps_left_in_epoch(), before[0].steps_per_epoch() - 3);
  auto after = world(n, 30, 3);
  for (auto& cursor : after) EXPECT_TRUE(cursor.resume(before[0].position()));
  // What the trainer's schedule counts on: the steps the cursor will take
  // before the epoch ends, at the new batch.
  const int64_t left = after[0].steps_left_in_epoch();
  const auto& position = after[0].position();
  ASSERT_EQ(position.earlier.size(), 1u);
  EXPECT_EQ(position.earlier[0].world_size, 2);
  EXPECT_EQ(position.earlier[0].global_batch, 40);
  EXPECT_EQ(position.earlier[0].steps, 3);
  EXPECT_EQ(position.world_size, 3);
  EXPECT_EQ(position.global_batch, 30);
  int64_t steps = 0;
  while (after[0].epoch() == 0) {
    for (auto& cursor : after) {
      const auto batch = cursor.next_batch();
      seen.insert(seen.end(), batch.begin(), batch.end());
    }
    for (auto& cursor : after) cursor.advance();
    ++steps;
  }
  const std::set<int64_t> unique(seen.begin(), seen.end());
  EXPECT_EQ(unique.size(), seen.size()) << "a sample was visited twice in the epoch";
  EXPECT_EQ(after[0].steps_left_in_epoch(), after[0].steps_per_epoch()) << "the next epoch is whole";
  EXPECT_EQ(static_cast<int64_t>(seen.size()), 3 * 40 + steps * 30);
  EXPECT_EQ(steps, left);
  EXPECT_TRUE(after[0].at_epoch_start());
  EXPECT_TRUE(after[0].position().earlier.empty());
}

TEST(EpochCursor, AnEpochWithTooLittleLeftEndsAtTheResume) {
  auto before = world(100, 10, 2);
  take(before, before[0].steps_per_epoch() - 1);  // one batch of 10 left
  EpochCursor after(100, 40, 42, 0, 1);            // wants 40
  EXPECT_TRUE(after.resume(before[0].position()));
  EXPECT_EQ(after.epoch(), 1);
  EXPECT_TRUE(after.at_epoch_start());
}

TEST(EpochCursor, ABatchLargerThanARanksBlockIsRefused) {
  EXPECT_THROW(EpochCursor(10, 64, 42, 0, 2), Error);
}

}  // namespace
}  // namespace distgru::data
