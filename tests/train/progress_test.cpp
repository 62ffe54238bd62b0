#include "train/progress.h"

#include <gtest/gtest.h>

namespace distgru::train {
namespace {

TEST(Progress, FormatsDurations) {
  EXPECT_EQ(format_duration(0), "0s");
  EXPECT_EQ(format_duration(59.4), "59s");
  EXPECT_EQ(format_duration(245), "4m05s");
  EXPECT_EQ(format_duration(3723), "1h02m03s");
  EXPECT_EQ(format_duration(-5), "0s");
}

TEST(Progress, ReportsThroughputEpochAndEta) {
  Progress p(/*total_steps=*/100, /*total_epochs=*/2, /*global_batch=*/128, /*start_step=*/0);
  auto line = p.update(10, /*epoch=*/1, 0.6931, 2.0);  // 10 steps of 128 in 2 s
  EXPECT_DOUBLE_EQ(line.samples_per_second, 640.0);
  EXPECT_NE(line.text.find("epoch 1/2 step 10/100"), std::string::npos) << line.text;
  EXPECT_NE(line.text.find("loss 0.6931"), std::string::npos) << line.text;
  EXPECT_NE(line.text.find("ETA 18s"), std::string::npos) << line.text;  // 90 steps x 0.2 s
  line = p.update(60, /*epoch=*/2, 0.5, 10.0);
  EXPECT_NE(line.text.find("epoch 2/2 step 60/100"), std::string::npos) << line.text;
}

}  // namespace
}  // namespace distgru::train
