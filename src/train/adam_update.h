#pragma once
// Adam's update (Kingma & Ba, ICLR 2015, Algorithm 1, written as LibTorch
// 1.13's torch::optim::Adam::step writes it: m = b1 m + (1-b1) g, v = b2 v +
// (1-b2) g^2, p -= lr / (1-b1^t) * m / (sqrt(v) / sqrt(1-b2^t) + eps)) in
// one pass over each parameter, where Adam::step makes eight (and two
// temporary tensors): the update reads the gradient and both moments once
// and writes the parameter and both moments once. The moments and step
// count live in the optimizer's own AdamParamState, as Adam::step keeps
// them, so the optimizer's save/load (checkpoints) and Adam::step itself
// work on the same state. Not bit for bit Adam::step: its kernels may fuse a
// multiply-add this loop does not (and the reverse); the same for a given
// build and input, whatever the thread count.

#include <torch/torch.h>

namespace distgru::train {

// Updates every parameter of `optimizer` that has a gradient, with each
// group's lr, betas and eps. Falls back to optimizer.step() when an option
// this loop does not implement is set (amsgrad, weight_decay) or a parameter
// is not a contiguous float32 CPU tensor with a gradient of the same layout.
// Throws distgru::Error when the step size lr / (1 - b1^t) is not a finite
// float (the parameters updated before it keep their update; the run stops)
// or when a parameter's saved moments do not match it (shape, dtype,
// device); on the fallback, whatever Adam::step throws (c10::Error).
void adam_update(torch::optim::Adam& optimizer);

// The state adam_update and Adam::step keep for parameter p (the same
// entry: keyed as LibTorch keys it), or nullptr before p's first update.
torch::optim::AdamParamState* adam_state(torch::optim::Adam& optimizer, const torch::Tensor& p);

}  // namespace distgru::train
