#pragma once
// What a run's settings leave undone: each setting is valid alone, but
// together with the data or the others it does nothing, or less than a user
// of DDP or Lightning would expect (no --checkpoint-dir saves nothing, a
// --trace-steps range past the run's last step records nothing, ...). Rank
// 0 logs each as a warning once, after a resume has set where the run starts,
// so that nothing a run skips is silent.

#include <cstdint>
#include <string>
#include <vector>

#include "train/config.h"

namespace distgru::train {

struct RunFacts {
  int64_t train_reviews = 0;       // after the validation tail is held out
  int64_t validation_reviews = 0;
  int64_t first_step = 0;          // the step the run starts after (0, or the resumed one)
  int64_t total_steps = 0;         // the step it ends at
};

// One line per thing the settings leave undone; empty when none.
std::vector<std::string> setting_warnings(const TrainConfig& config, const RunFacts& facts);

}  // namespace distgru::train
