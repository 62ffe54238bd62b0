#include "model/dropout.h"

#include <ATen/CPUGeneratorImpl.h>

#include "common/error.h"
#include "data/sampler.h"

namespace distgru::model {

float dropout_keep_scale(double p) { return 1.0f / static_cast<float>(1.0 - p); }

torch::Tensor dropout(const torch::Tensor& x, double p, at::IntArrayRef mask_shape,
                      const std::optional<at::Generator>& generator) {
  DISTGRU_CHECK(p >= 0.0 && p < 1.0, "dropout: rate " + std::to_string(p) + " is not in [0, 1)");
  if (p == 0.0) return x;
  return x * dropout_mask(p, mask_shape, generator).to(x.scalar_type()).to(x.device());
}

torch::Tensor dropout_mask(double p, at::IntArrayRef mask_shape, const std::optional<at::Generator>& generator) {
  DISTGRU_CHECK(p > 0.0 && p < 1.0, "dropout: rate " + std::to_string(p) + " is not in (0, 1)");
  auto draw = torch::empty(mask_shape, torch::TensorOptions().dtype(torch::kFloat));
  // ATen's CPU uniform_ draws serially, element by element: thread-count independent.
  if (generator) {
    draw.uniform_(0.0, 1.0, *generator);
  } else {
    draw.uniform_(0.0, 1.0);
  }
  // The draws become the mask in place, in one pass: 1 / (1 - p) where a
  // draw is >= p, else 0 (ATen's ge, to and div_ made three passes and two
  // more tensors, 8 ms a step on the encoder's [64, 256, 256]; the values
  // are the same bits: float(1) / float(1 - p), as div_ computed them).
  const float keep_scale = dropout_keep_scale(p);
  const float threshold = static_cast<float>(p);
  float* d = draw.data_ptr<float>();
  const int64_t n = draw.numel();
  for (int64_t i = 0; i < n; ++i) d[i] = d[i] >= threshold ? keep_scale : 0.0f;
  return draw;
}

at::Generator dropout_generator(uint64_t seed, int64_t step, int rank) {
  // The sampler's seed mixing (data/sampler.h), so a step's masks and an
  // epoch's order come from the same hash.
  return at::make_generator<at::CPUGeneratorImpl>(
      data::mix_seed(seed, static_cast<uint64_t>(step), static_cast<uint64_t>(rank)));
}

}  // namespace distgru::model
