#include "train/progress.h"

#include <fmt/format.h>

#include <cmath>

namespace distgru::train {

Progress::Progress(int64_t total_steps, int64_t steps_per_epoch, int64_t global_batch,
                   int64_t start_step)
    : total_steps_(total_steps),
      steps_per_epoch_(steps_per_epoch),
      global_batch_(global_batch),
      last_step_(start_step) {}

Progress::Line Progress::update(int64_t step, double loss, double window_seconds) {
  const int64_t steps = step - last_step_;
  last_step_ = step;
  trained_seconds_ += window_seconds;
  trained_steps_ += steps;
  Line line;
  line.samples_per_second = window_seconds > 0 ? steps * global_batch_ / window_seconds : 0.0;
  const double per_step = trained_steps_ > 0 ? trained_seconds_ / trained_steps_ : 0.0;
  const int64_t epochs = (total_steps_ + steps_per_epoch_ - 1) / steps_per_epoch_;
  const int64_t epoch = std::min(epochs, (step - 1) / steps_per_epoch_ + 1);
  line.text = fmt::format("epoch {}/{} step {}/{} loss {:.4f} {:.1f} samples/s ETA {}", epoch,
                          epochs, step, total_steps_, loss, line.samples_per_second,
                          format_duration(per_step * static_cast<double>(total_steps_ - step)));
  return line;
}

std::string format_duration(double seconds) {
  auto s = static_cast<int64_t>(std::llround(std::max(0.0, seconds)));
  const int64_t h = s / 3600, m = (s % 3600) / 60;
  s %= 60;
  if (h > 0) return fmt::format("{}h{:02}m{:02}s", h, m, s);
  if (m > 0) return fmt::format("{}m{:02}s", m, s);
  return fmt::format("{}s", s);
}

}  // namespace distgru::train
