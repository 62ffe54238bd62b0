#include "train/lr_schedule.h"

#include <algorithm>
#include <cmath>

#include "common/error.h"

namespace distgru::train {

double learning_rate_at(LrSchedule schedule, double base, int64_t step, int64_t total_steps,
                        int64_t warmup_steps, double final_fraction) {
  if (warmup_steps > 0 && step < warmup_steps) {
    return base * static_cast<double>(step + 1) / static_cast<double>(warmup_steps);
  }
  if (schedule == LrSchedule::kConstant) return base;
  // Progress through the decay, 0 at its first update and 1 at the last.
  const int64_t span = std::max<int64_t>(total_steps - warmup_steps - 1, 1);
  const double t =
      std::clamp(static_cast<double>(step - warmup_steps) / static_cast<double>(span), 0.0, 1.0);
  const double shape = schedule == LrSchedule::kLinear ? 1.0 - t : 0.5 * (1.0 + std::cos(M_PI * t));
  return base * (final_fraction + (1.0 - final_fraction) * shape);
}

}  // namespace distgru::train
