// The small types the training loop asks: the schedule, the best-model
// tracker and the checkpoint policy, each on its own.
#include <gtest/gtest.h>

#include <filesystem>
#include <fstream>
#include <unistd.h>
#include <cerrno>

#include "common/error.h"
#include "common/fault_injection.h"
#include "train/best_model.h"
#include "train/checkpoint_policy.h"
#include "train/schedule.h"

namespace distgru::train {
namespace {

namespace fs = std::filesystem;

TEST(Schedule, StepsOrEpochsEndTheRun) {
  TrainConfig c;
  c.steps = 0;
  c.epochs = 3;
  Schedule by_epochs(c, 10);
  EXPECT_EQ(by_epochs.total_steps(), 30);
  EXPECT_FALSE(by_epochs.finished(29, 2));
  EXPECT_TRUE(by_epochs.finished(30, 3));
  c.steps = 7;
  Schedule by_steps(c, 10);
  EXPECT_EQ(by_steps.total_steps(), 7);
  EXPECT_FALSE(by_steps.finished(6, 0));
  EXPECT_TRUE(by_steps.finished(7, 0));
}

// A run of 3 epochs at 10 steps each, resumed after step 14 (epoch 1, 4
// steps into it) with twice the batch: 3 steps left in that epoch, then 5 a
// whole epoch, so it ends at 14 + 3 + 5 = 22, not 3 x 5 = 15.
TEST(Schedule, AResumeWithAnotherBatchCountsTheStepsTakenAndLeft) {
  TrainConfig c;
  c.steps = 0;
  c.epochs = 3;
  Schedule s(c, 5);
  EXPECT_EQ(s.total_steps(), 15);
  s.resumed(/*step=*/14, /*epoch=*/1, /*steps_left_in_epoch=*/3);
  EXPECT_EQ(s.total_steps(), 22);
  s.resumed(/*step=*/30, /*epoch=*/3, /*steps_left_in_epoch=*/5);  // past the end: nothing left
  EXPECT_EQ(s.total_steps(), 30);
  Schedule same(c, 10);
  same.resumed(/*step=*/14, /*epoch=*/1, /*steps_left_in_epoch=*/6);  // nothing changed
  EXPECT_EQ(same.total_steps(), 30);
  c.steps = 7;
  Schedule by_steps(c, 10);
  by_steps.resumed(3, 0, 1);
  EXPECT_EQ(by_steps.total_steps(), 7);  // --steps is the total, whatever the batch
}

TEST(Schedule, LogsEveryLStepsAndAtTheEnd) {
  TrainConfig c;
  c.log_every = 20;
  Schedule s(c, 100);
  EXPECT_TRUE(s.log_due(40, false));
  EXPECT_FALSE(s.log_due(41, false));
  EXPECT_TRUE(s.log_due(41, true));
}

TEST(Schedule, ValidatesEveryMStepsOrAtEpochEnds) {
  TrainConfig c;
  c.eval_every = 0;
  Schedule per_epoch(c, 100);
  EXPECT_TRUE(per_epoch.validation_due(100, true));
  EXPECT_FALSE(per_epoch.validation_due(100, false));
  c.eval_every = 25;
  Schedule every(c, 100);
  EXPECT_TRUE(every.validation_due(50, false));
  EXPECT_FALSE(every.validation_due(60, true));
}

EvalResult result(double accuracy, double auc, double loss) {
  EvalResult r;
  r.accuracy = accuracy;
  r.auc = auc;
  r.loss = loss;
  return r;
}

TEST(BestModel, KeepsTheParametersOfTheBestScoreOfTheChosenMetric) {
  auto p = torch::zeros({3});
  BestModel by_loss(SelectMetric::kLoss);
  EXPECT_FALSE(by_loss.has_parameters());
  EXPECT_TRUE(by_loss.offer(result(0.9, 0.9, 0.50), 10, {p}));  // the first is the best so far
  p.fill_(1);
  EXPECT_FALSE(by_loss.offer(result(0.95, 0.95, 0.60), 20, {p}));  // higher loss: not better
  p.fill_(2);
  EXPECT_TRUE(by_loss.offer(result(0.80, 0.80, 0.40), 30, {p}));
  p.fill_(3);
  EXPECT_EQ(by_loss.step(), 30);
  EXPECT_DOUBLE_EQ(by_loss.score(), -0.40);
  ASSERT_TRUE(by_loss.copy_into({p}));
  EXPECT_TRUE(torch::equal(p, torch::full({3}, 2.0f)));  // a copy, not the live tensor

  BestModel by_accuracy(SelectMetric::kAccuracy);
  by_accuracy.offer(result(0.9, 0.5, 0.5), 1, {p});
  EXPECT_FALSE(by_accuracy.offer(result(0.9, 0.99, 0.1), 2, {p}));  // a tie is not better
  EXPECT_DOUBLE_EQ(selection_score(result(0.1, 0.7, 0.3), SelectMetric::kAuc), 0.7);
}

TEST(BestModel, ARestoredRecordMustBeBeaten) {
  BestModel best(SelectMetric::kAccuracy);
  best.restore(0.9, 40, {});
  EXPECT_FALSE(best.has_parameters());  // best.pt could not be read
  EXPECT_EQ(best.step(), 40);
  auto p = torch::zeros({2});
  EXPECT_FALSE(best.offer(result(0.85, 0, 0), 60, {p}));
  EXPECT_FALSE(best.copy_into({p}));
  EXPECT_TRUE(best.offer(result(0.91, 0, 0), 80, {p}));
  EXPECT_TRUE(best.result().has_value());
}

class CheckpointPolicyTest : public ::testing::Test {
 protected:
  void SetUp() override {
    dir_ = fs::temp_directory_path() / ("distgru_policy_" + std::to_string(::getpid()) + "_" +
                                        ::testing::UnitTest::GetInstance()->current_test_info()->name());
    fs::remove_all(dir_);
  }
  void TearDown() override { fs::remove_all(dir_); }
  fs::path dir_;
  TrainConfig config_;
};

TEST_F(CheckpointPolicyTest, DueEveryKStepsAndAtTheEndUnlessJustWritten) {
  CheckpointPolicy policy(dir_.string(), 50, 3);
  EXPECT_TRUE(policy.due(100));
  EXPECT_FALSE(policy.due(101));
  EXPECT_TRUE(policy.due_at_end(101));
  EXPECT_FALSE(policy.due_at_end(100));
  CheckpointPolicy only_at_end(dir_.string(), 0, 3);
  EXPECT_FALSE(only_at_end.due(100));
  EXPECT_TRUE(only_at_end.due_at_end(100));
  CheckpointPolicy none("", 50, 3);
  EXPECT_FALSE(none.enabled());
  EXPECT_FALSE(none.due(100));
  EXPECT_FALSE(none.due_at_end(101));
}

TEST_F(CheckpointPolicyTest, StepCheckpointsMoveLatestAndKeepTheNewest) {
  CheckpointPolicy policy(dir_.string(), 1, 2);
  policy.create_dir();
  model::AttentionGRU model(model_config(config_));
  torch::optim::Adam adam(model->parameters());
  TrainState state;
  for (int64_t step : {1, 2, 3}) {
    state.step = step;
    EXPECT_EQ(policy.save_step(*model, adam, state, to_ini(config_)), (dir_ / checkpoint_name(step)).string());
  }
  EXPECT_FALSE(fs::exists(dir_ / checkpoint_name(1)));
  EXPECT_TRUE(fs::exists(dir_ / checkpoint_name(2)));
  std::ifstream latest(dir_ / "LATEST");
  std::string name;
  std::getline(latest, name);
  EXPECT_EQ(name, checkpoint_name(3));
  EXPECT_FALSE(policy.usable_best());
  policy.save_best(*model, state, to_ini(config_));
  EXPECT_EQ(*policy.usable_best(), (dir_ / "best.pt").string());
  std::vector<std::string> skipped;
  EXPECT_EQ(*policy.find_resume(&skipped), (dir_ / checkpoint_name(3)).string());
  EXPECT_TRUE(skipped.empty());
}

TEST_F(CheckpointPolicyTest, EveryWriteGoesThroughTheGivenFileSystem) {
  FaultInjectingFileSystem full_disk;
  full_disk.fail_writes("test_metrics", ENOSPC, 10);
  CheckpointPolicy policy(dir_.string(), 1, 2, full_disk);
  policy.create_dir();
  EXPECT_THROW(policy.save_text("test_metrics.json", std::string(100, 'x')), Error);
  EXPECT_FALSE(fs::exists(dir_ / "test_metrics.json"));
  EXPECT_FALSE(fs::exists(dir_ / "test_metrics.json.tmp"));
  policy.save_text("other.json", "{}\n");
  EXPECT_TRUE(fs::exists(dir_ / "other.json"));
}

}  // namespace
}  // namespace distgru::train
