#include "model/dropout.h"

#include <ATen/CPUGeneratorImpl.h>

#include "common/error.h"
#include "data/sampler.h"

namespace distgru::model {

torch::Tensor dropout(const torch::Tensor& x, double p, at::IntArrayRef mask_shape,
                      const std::optional<at::Generator>& generator) {
  DISTGRU_CHECK(p >= 0.0 && p < 1.0, "dropout: rate " + std::to_string(p) + " is not in [0, 1)");
  if (p == 0.0) return x;
  auto draw = torch::empty(mask_shape, torch::TensorOptions().dtype(torch::kFloat));
  // ATen's CPU uniform_ draws serially, element by element: thread-count independent.
  if (generator) {
    draw.uniform_(0.0, 1.0, *generator);
  } else {
    draw.uniform_(0.0, 1.0);
  }
  const auto mask = draw.ge(p).to(x.scalar_type()).div_(1.0 - p).to(x.device());
  return x * mask;
}

at::Generator dropout_generator(uint64_t seed, int64_t step, int rank) {
  // The sampler's seed mixing (data/sampler.h), so a step's masks and an
  // epoch's order come from the same hash.
  return at::make_generator<at::CPUGeneratorImpl>(
      data::mix_seed(seed, static_cast<uint64_t>(step), static_cast<uint64_t>(rank)));
}

}  // namespace distgru::model
