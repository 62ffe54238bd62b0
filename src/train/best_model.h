#pragma once
// Which parameters count as the best so far: the validation metric that
// chooses best.pt (--select-metric), and the copy of the parameters taken at
// the best validation, which the test set is scored with at the end. Every
// rank keeps the same copy (validation results are the same on every rank),
// so any rank can restore it.

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

class BestModel {
 public:
  explicit BestModel(SelectMetric metric) : metric_(metric) {}

  // Continues a resumed run's record: its best score and step (from the
  // checkpoint), and best.pt's parameters when they could be read.
  void restore(double score, int64_t step, std::vector<torch::Tensor> parameters);

  // A validation of `parameters` after `step`: when it beats the best so far
  // (or is the first), keeps a copy of them and returns true.
  bool offer(const EvalResult& result, int64_t step, const std::vector<torch::Tensor>& parameters);

  // Copies the best parameters into `parameters` (the model's, in place);
  // returns false, changing nothing, when none were kept.
  bool copy_into(const std::vector<torch::Tensor>& parameters) const;

  bool has_parameters() const { return !parameters_.empty(); }
  int64_t step() const { return step_; }    // -1 before the first validation
  double score() const { return score_; }
  // The best validation of this process's run (not of a resumed run's past).
  const std::optional<EvalResult>& result() const { return result_; }

 private:
  // Constant after construction.
  SelectMetric metric_;
  // Changed by offer() and restore().
  double score_ = 0.0;
  int64_t step_ = -1;
  std::vector<torch::Tensor> parameters_;
  std::optional<EvalResult> result_;
};

}  // namespace distgru::train

template <>
struct distgru::ChoiceNames<distgru::train::SelectMetric> {
  using E = train::SelectMetric;
  static constexpr std::array<std::pair<E, std::string_view>, 3> kValues{
      {{E::kAccuracy, "accuracy"}, {E::kAuc, "auc"}, {E::kLoss, "loss"}}};
};
