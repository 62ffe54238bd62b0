#include "train/best_model.h"

namespace distgru::train {

double selection_score(const EvalResult& result, SelectMetric metric) {
  switch (metric) {
    case SelectMetric::kAuc: return result.auc;
    case SelectMetric::kLoss: return -result.loss;
    case SelectMetric::kAccuracy: break;
  }
  return result.accuracy;
}

void BestModel::restore(double score, int64_t step, std::vector<torch::Tensor> parameters) {
  score_ = score;
  step_ = step;
  parameters_ = std::move(parameters);
}

bool BestModel::offer(const EvalResult& result, int64_t step, const std::vector<torch::Tensor>& parameters) {
  const double score = selection_score(result, metric_);
  if (step_ >= 0 && !(score > score_)) return false;
  score_ = score;
  step_ = step;
  result_ = result;
  parameters_.clear();
  for (const auto& p : parameters) parameters_.push_back(p.detach().clone());
  return true;
}

bool BestModel::copy_into(const std::vector<torch::Tensor>& parameters) const {
  if (parameters_.empty()) return false;
  torch::NoGradGuard no_grad;
  for (size_t i = 0; i < parameters.size(); ++i) {
    auto target = parameters[i];
    target.copy_(parameters_[i]);
  }
  return true;
}

}  // namespace distgru::train
