#pragma once
// The learning rate as a pure function of the global step, so a resumed run
// (on any number of ranks) continues the same curve without storing it: the
// step is in the checkpoint, and the schedule in its config.

#include <cstdint>

#include "common/choice.h"

namespace distgru::train {

enum class LrSchedule { kConstant, kLinear, kCosine };

// The rate for the update made at step `step` (0-based) of `total_steps`:
// a linear warm-up over the first `warmup_steps` updates from base/warmup to
// base, then constant, or decaying linearly or along a half cosine to
// `final_fraction * base` at the last update.
double learning_rate_at(LrSchedule schedule, double base, int64_t step, int64_t total_steps,
                        int64_t warmup_steps = 0, double final_fraction = 0.0);

}  // namespace distgru::train

template <>
struct distgru::ChoiceNames<distgru::train::LrSchedule> {
  using E = train::LrSchedule;
  static constexpr std::array<std::pair<E, std::string_view>, 3> kValues{
      {{E::kConstant, "constant"}, {E::kLinear, "linear"}, {E::kCosine, "cosine"}}};
};
