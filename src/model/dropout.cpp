#include "model/dropout.h"

#include <ATen/CPUGeneratorImpl.h>

#include "common/error.h"

namespace distgru::model {
namespace {

// Steele, Lea and Flood's splitmix64 finaliser: nearby inputs give unrelated outputs.
uint64_t splitmix64(uint64_t x) {
  x += 0x9e3779b97f4a7c15ULL;
  x = (x ^ (x >> 30)) * 0xbf58476d1ce4e5b9ULL;
  x = (x ^ (x >> 27)) * 0x94d049bb133111ebULL;
  return x ^ (x >> 31);
}

}  // namespace

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
  const uint64_t mixed =
      splitmix64(splitmix64(splitmix64(seed) ^ static_cast<uint64_t>(step)) ^ static_cast<uint64_t>(rank));
  return at::make_generator<at::CPUGeneratorImpl>(mixed);
}

}  // namespace distgru::model
