#pragma once
// Dropout whose masks come from a generator the caller owns, so that a
// training step's masks are a pure function of (seed, step, rank): the same
// whatever the thread count, on CPU and GPU alike, and the same again after a
// resume, with nothing to save (train/train_step.h seeds one per step).
//
// Inverted dropout (Srivastava et al., JMLR 2014): a kept unit is scaled by
// 1 / (1 - p), so nothing changes at evaluation, where no mask is applied.
// `mask_shape` broadcasts against x: [B, T, 1] for an embedding drops whole
// words (a word's every component at once, Keras's SpatialDropout1D; Gal &
// Ghahramani's word dropout, NeurIPS 2016), [B, T, E] single components.

#include <torch/torch.h>

#include <optional>

namespace distgru::model {

// Fractions of units zeroed while training; 0 disables each. Not part of the
// model's shape: the parameters are the same with any rates.
struct DropoutRates {
  double embedding = 0.0;  // components of the embedded vectors   [B,T,E]
  double word = 0.0;       // whole words: a token's vector zeroed   [B,T,1]
  double encoder = 0.0;    // the GRU's outputs before attention    [B,T,2H]
  double output = 0.0;     // the attended context before the dense [B,2H]
  bool any() const { return embedding > 0 || word > 0 || encoder > 0 || output > 0; }
};

// x * mask / (1 - p), the mask drawn on the CPU from `generator` (the default
// CPU generator when empty) with one uniform draw per element of mask_shape,
// in row-major order, then moved to x's device. p in [0, 1); p == 0 returns x.
torch::Tensor dropout(const torch::Tensor& x, double p, at::IntArrayRef mask_shape,
                      const std::optional<at::Generator>& generator);

// The mask dropout() multiplies by, drawn the same way from the same
// generator: a float32 CPU tensor of mask_shape holding dropout_keep_scale(p)
// where a unit is kept and 0 where it is dropped. p in (0, 1).
torch::Tensor dropout_mask(double p, at::IntArrayRef mask_shape, const std::optional<at::Generator>& generator);

// 1 / (1 - p) in float32, the value dropout_mask() holds for a kept unit.
float dropout_keep_scale(double p);

// A generator for one step's masks, seeded by data::mix_seed(seed, step, rank)
// (splitmix64, data/sampler.h).
at::Generator dropout_generator(uint64_t seed, int64_t step, int rank);

}  // namespace distgru::model
