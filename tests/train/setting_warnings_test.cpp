// The warnings for settings that leave something undone (setting_warnings.h):
// each appears when it should, and a run that does all it is asked warns of
// nothing.
#include "train/setting_warnings.h"

#include <gtest/gtest.h>

namespace distgru::train {
namespace {

TrainConfig saving() {
  TrainConfig c;
  c.checkpoint_dir = "/tmp/run";
  return c;
}

const RunFacts kRun{/*train_reviews=*/22500, /*validation_reviews=*/2500, /*first_step=*/0, /*total_steps=*/528};

bool mentions(const std::vector<std::string>& warnings, const std::string& text) {
  for (const auto& w : warnings) {
    if (w.find(text) != std::string::npos) return true;
  }
  return false;
}

TEST(SettingWarnings, NoneForARunThatDoesWhatItIsAsked) {
  auto c = saving();
  c.trace_steps = "10:20";
  c.warmup_steps = 100;
  EXPECT_TRUE(setting_warnings(c, kRun).empty());
}

TEST(SettingWarnings, ARunThatSavesNothingSaysSo) {
  auto c = saving();
  c.checkpoint_dir.clear();
  c.sample_log = true;
  c.trace_steps = "1:2";
  const auto w = setting_warnings(c, kRun);
  EXPECT_TRUE(mentions(w, "no --checkpoint-dir: this run saves nothing"));
  EXPECT_TRUE(mentions(w, "--sample-log 1 without --checkpoint-dir"));
  EXPECT_TRUE(mentions(w, "--trace-steps 1:2 without --checkpoint-dir"));
}

TEST(SettingWarnings, NoValidationSaysWhatItSkips) {
  auto c = saving();
  c.val_fraction = 0.01;
  c.early_stop_patience = 2;
  const auto w = setting_warnings(c, RunFacts{40, 0, 0, 10});
  EXPECT_TRUE(mentions(w, "--val-fraction 0.01 of 40 reviews holds none back: no validation, so no best.pt"));
  EXPECT_TRUE(mentions(w, "--early-stop-patience"));
}

TEST(SettingWarnings, ATraceOrAWarmUpPastTheRunSaysWhatItWillHold) {
  auto c = saving();
  c.trace_steps = "50:60";
  c.warmup_steps = 1000;
  auto w = setting_warnings(c, RunFacts{100, 10, 0, 8});
  EXPECT_TRUE(mentions(w, "--trace-steps 50:60: the run takes steps 1 to 8, so the timeline will hold no step"));
  EXPECT_TRUE(mentions(w, "--warmup-steps 1000: the run ends at step 8"));
  c.trace_steps = "5:60";
  c.warmup_steps = 0;
  w = setting_warnings(c, RunFacts{100, 10, 0, 8});
  EXPECT_TRUE(mentions(w, "only the steps of that range it takes"));
  c.trace_steps = "5:6";
  w = setting_warnings(c, RunFacts{100, 10, /*first_step=*/7, 20});  // resumed past it
  EXPECT_TRUE(mentions(w, "the run takes steps 8 to 20, so the timeline will hold no step"));
}

}  // namespace
}  // namespace distgru::train
