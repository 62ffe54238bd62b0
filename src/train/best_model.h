#pragma once
// Which parameters count as the best so far: the validation metric that
// chooses best.pt (--select-metric), and the copy of the parameters taken at
// the best validation, which the test set is scored with at the end.

#include <torch/torch.h>

#include <cstdint>
#include <optional>
#include <vector>

#include "common/choice.h"
#include "train/evaluator.h"

namespace distgru::train {

enum class SelectMetric { kAccuracy, kAuc, kLoss };

// The metric as a score where higher is better (the loss negated).
double selection_score(const EvalResult& result, SelectMetric metric);

}  // namespace distgru::train

template <>
struct distgru::ChoiceNames<distgru::train::SelectMetric> {
  using E = train::SelectMetric;
  static constexpr std::array<std::pair<E, std::string_view>, 3> kValues{
      {{E::kAccuracy, "accuracy"}, {E::kAuc, "auc"}, {E::kLoss, "loss"}}};
};
