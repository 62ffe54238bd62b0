#pragma once
// Progress lines for rank 0: epoch, step/total, loss, samples/s over the last
// window, and an ETA from the mean step time of this run so far.

#include <cstdint>
#include <string>

namespace distgru::train {

class Progress {
 public:
  Progress(int64_t total_steps, int64_t steps_per_epoch, int64_t global_batch, int64_t start_step);

  struct Line {
    std::string text;
    double samples_per_second = 0.0;
  };
  // `window_seconds`: training time since the previous update.
  Line update(int64_t step, double loss, double window_seconds);

 private:
  // Constant after construction.
  int64_t total_steps_;
  int64_t steps_per_epoch_;
  int64_t global_batch_;
  // Updated by update().
  int64_t last_step_;
  double trained_seconds_ = 0.0;
  int64_t trained_steps_ = 0;
};

// "1h02m03s", "4m05s", "12s".
std::string format_duration(double seconds);

}  // namespace distgru::train
