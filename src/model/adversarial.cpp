#include "model/adversarial.h"

#include "common/error.h"

namespace distgru::model {

torch::Tensor adversarial_perturbation(const torch::Tensor& embedding_grad, double epsilon) {
  DISTGRU_CHECK(embedding_grad.dim() == 3,
                "adversarial perturbation: the gradient must be [batch, time, embed]");
  DISTGRU_CHECK(epsilon >= 0,
                "adversarial perturbation: epsilon " + std::to_string(epsilon) + " is negative");
  torch::NoGradGuard no_grad;
  // A review whose gradient is all zero (e.g. a loss exactly 0) is not moved:
  // the clamp keeps 0 / 0 out.
  const auto norms = embedding_grad.flatten(1).norm(2, 1).clamp_min(1e-30).view({-1, 1, 1});
  return embedding_grad * (epsilon / norms);
}

}  // namespace distgru::model
