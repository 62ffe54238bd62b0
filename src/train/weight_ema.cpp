#include "train/weight_ema.h"

#include <algorithm>

#include "common/error.h"

namespace distgru::train {

WeightEma::WeightEma(double decay, const std::vector<torch::Tensor>& parameters) : decay_(decay) {
  DISTGRU_CHECK(decay > 0.0 && decay < 1.0, "--ema-decay must be in (0, 1), got " + std::to_string(decay));
  for (const auto& p : parameters) average_.push_back(p.detach().clone().contiguous());
}

double WeightEma::decay_at(int64_t step) const {
  return std::min(decay_, (1.0 + static_cast<double>(step)) / (10.0 + static_cast<double>(step)));
}

void WeightEma::update(const std::vector<torch::Tensor>& parameters, int64_t step) {
  DISTGRU_CHECK(parameters.size() == average_.size(), "WeightEma::update: " + std::to_string(parameters.size()) +
                                                          " parameters for an average of " +
                                                          std::to_string(average_.size()));
  const double weight = 1.0 - decay_at(step);
  torch::NoGradGuard no_grad;
  for (size_t i = 0; i < parameters.size(); ++i) {
    auto& a = average_[i];
    const auto p = parameters[i].detach();
    if (!a.is_cpu() || a.scalar_type() != torch::kFloat || !p.is_contiguous()) {
      a.lerp_(p, weight);  // elementwise on the GPU too: no reduction order to vary
      continue;
    }
    const float w = static_cast<float>(weight);
    float* avg = a.data_ptr<float>();
    const float* now = p.data_ptr<float>();
    const int64_t n = a.numel();
    for (int64_t k = 0; k < n; ++k) avg[k] += w * (now[k] - avg[k]);
  }
}

void WeightEma::restore(const std::vector<torch::Tensor>& saved) {
  DISTGRU_CHECK(saved.size() == average_.size(), "the checkpoint's weight average has " +
                                                     std::to_string(saved.size()) + " tensors, the model " +
                                                     std::to_string(average_.size()) + " parameters");
  torch::NoGradGuard no_grad;
  for (size_t i = 0; i < saved.size(); ++i) {
    DISTGRU_CHECK(saved[i].sizes() == average_[i].sizes(),
                  "the checkpoint's weight average " + std::to_string(i) + " is " + c10::str(saved[i].sizes()) +
                      ", the parameter " + c10::str(average_[i].sizes()));
    average_[i].copy_(saved[i]);
  }
}

void WeightEma::swap_with(const std::vector<torch::Tensor>& parameters) {
  DISTGRU_CHECK(parameters.size() == average_.size(), "WeightEma::swap_with: parameter count differs");
  torch::NoGradGuard no_grad;
  for (size_t i = 0; i < parameters.size(); ++i) {
    auto p = parameters[i];
    const auto trained = p.detach().clone();
    p.copy_(average_[i]);
    average_[i].copy_(trained);
  }
}

AveragedWeightsInPlace::AveragedWeightsInPlace(WeightEma& ema, std::vector<torch::Tensor> parameters)
    : ema_(ema), parameters_(std::move(parameters)) {
  ema_.swap_with(parameters_);
}

AveragedWeightsInPlace::~AveragedWeightsInPlace() { ema_.swap_with(parameters_); }

}  // namespace distgru::train
