#pragma once
// An exponential moving average (EMA) of the parameters, kept beside them
// while training and validated beside them (--ema-decay; Polyak & Juditsky,
// SIAM J. Control Optim. 1992). After optimiser step t (1-based):
//
//   average <- d_t * average + (1 - d_t) * parameter,   d_t = min(decay, (1 + t) / (10 + t))
//
// The warm-up of d_t is TensorFlow's tf.train.ExponentialMovingAverage with
// num_updates: early in a run, when the parameters move fast, the average
// follows them closely; later it spans about 1 / (1 - decay) steps.
//
// Every rank holds the same parameters after a step, so every rank computes
// the same average and nothing is communicated. On the CPU the update is one
// plain loop in element order (not ATen's threaded kernels, whose vector and
// scalar paths may round differently depending on where a thread's chunk
// ends): the same bits for any thread count, and again after a resume, since
// the average is saved in step checkpoints (train/checkpoint.h).

#include <torch/torch.h>

#include <cstdint>
#include <vector>

namespace distgru::train {

class WeightEma {
 public:
  // Starts the average at the parameters' values (copies). decay in (0, 1);
  // throws distgru::Error otherwise.
  WeightEma(double decay, const std::vector<torch::Tensor>& parameters);

  // d_t above, for optimiser step `step` (>= 1).
  double decay_at(int64_t step) const;

  // After optimiser step `step` moved `parameters` (the same list, in the
  // same order, as at construction).
  void update(const std::vector<torch::Tensor>& parameters, int64_t step);

  // The averaged tensors, one per parameter, on the parameters' device.
  const std::vector<torch::Tensor>& averaged() const { return average_; }

  // Continues from a checkpoint's average. Throws distgru::Error naming the
  // index when the count or a shape differs from the parameters'.
  void restore(const std::vector<torch::Tensor>& saved);

  // Exchanges the parameters' values with the average, in place (no
  // gradient recorded); a second call undoes the first.
  void swap_with(const std::vector<torch::Tensor>& parameters);

 private:
  // Constant after construction.
  double decay_;
  // Moved by every update().
  std::vector<torch::Tensor> average_;
};

// While it lives, `parameters` hold the average (to validate, or to write
// best.pt from); the trained values come back when it ends, exceptions
// included.
class AveragedWeightsInPlace {
 public:
  AveragedWeightsInPlace(WeightEma& ema, std::vector<torch::Tensor> parameters);
  ~AveragedWeightsInPlace();
  AveragedWeightsInPlace(const AveragedWeightsInPlace&) = delete;
  AveragedWeightsInPlace& operator=(const AveragedWeightsInPlace&) = delete;

 private:
  WeightEma& ema_;
  std::vector<torch::Tensor> parameters_;
};

}  // namespace distgru::train
