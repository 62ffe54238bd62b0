#pragma once
// What to reduce, separate from how: GradientSync owns one flat (fused) buffer
// for all gradients, as Horovod's fusion buffer and DDP's buckets, set up once
// at construction, and each step runs ONE allreduce over it. The communicator
// never sees the model.
//
// Zero copy: at construction every parameter's .grad() becomes a view into the
// flat buffer (DDP's gradient_as_bucket_view), so backward accumulates straight
// into it and the sums land in the gradients without copying 8.7 MB in and out
// (which cost 4x the allreduce itself). A gradient that was replaced by a
// tensor of its own (set to none, or rebound by other code) is copied in and
// rebound to its view, so the result is the same either way.
//
// Summing (not averaging) is deliberate: the trainer scales each rank's loss by
// 1/global_batch, so the sum over ranks is exactly the gradient of the mean
// loss over the global batch, whatever the split of samples across ranks.

#include <torch/torch.h>

#include <string>
#include <vector>

#include "dist/communicator.h"

namespace distgru::dist {

class GradientSync {
 public:
  // `params` must all have the same dtype and live on comm.device(). Rebinds
  // each parameter's .grad() to its view of the flat buffer (keeping any
  // values it had).
  GradientSync(Communicator& comm, std::vector<torch::Tensor> params);

  // collective: sums every parameter's .grad() across ranks, in place. A
  // parameter without a gradient on this rank contributes zeros and receives
  // the sum (so replicas stay identical).
  void allreduce_gradients();

  int64_t numel() const { return flat_.numel(); }
  int64_t bytes() const { return flat_.numel() * flat_.element_size(); }
  // Seconds spent in the last allreduce_gradients() (copy-in/out included).
  double last_seconds() const { return last_seconds_; }

 private:
  Communicator& comm_;
  // Constant after construction.
  std::vector<torch::Tensor> params_;
  std::vector<int64_t> offsets_;
  torch::Tensor flat_;
  std::vector<torch::Tensor> views_;  // views_[i]: params_[i]'s slice of flat_ (shared storage)
  double last_seconds_ = 0.0;
};

// collective: replaces every rank's tensors with root's (one fused broadcast).
void broadcast_tensors(Communicator& comm, const std::vector<torch::Tensor>& tensors, int root = 0);

// collective: root's `text` on every rank (other ranks' argument is ignored).
std::string broadcast_string(Communicator& comm, const std::string& text, int root = 0);

// collective: true on every rank when all ranks hold bit-identical tensors.
bool tensors_identical_across_ranks(Communicator& comm, const std::vector<torch::Tensor>& tensors);

// Copies the tensors into one new flat tensor (same dtype as the first).
torch::Tensor flatten_tensors(const std::vector<torch::Tensor>& tensors);

}  // namespace distgru::dist
