#pragma once
// One optimiser step of data-parallel training, the same code for the
// trainer, the tests and the bench: forward on this rank's share of the
// global batch, the loss summed over it and divided by the GLOBAL batch,
// backward with each gradient bucket allreduced as soon as it is filled
// (distributed/gradient_sync.h), clipping of the global gradient norm, and
// Adam at the rate given, with decoupled weight decay (AdamW: Loshchilov &
// Hutter, ICLR 2019) on the weight matrices when asked. Summing the ranks' gradients then gives exactly the
// gradient of the mean loss over the global batch, however its samples are
// split, so the replicas stay identical.
//
// Each step reports how long its parts took (StepTimes): the timing hook the
// bench and the logs read, instead of copies of the step that time it.

#include <torch/torch.h>

#include <chrono>
#include <cstdint>
#include <memory>

#include "distributed/communicator.h"
#include "distributed/gradient_sync.h"
#include "model/attention_gru.h"
#include "train/config.h"

namespace distgru::train {

struct StepOptions {
  double clip_grad_norm = 0.0;  // 0: no clipping
  dist::GradientSyncOptions sync;

  bool sparse_embedding = false;  // the embedding's gradient synced as rows (gradient_sync.h)
  // AdamW's lambda: before each update every weight matrix except the
  // embedding shrinks by lr * weight_decay (torch.optim.AdamW's order); biases
  // and the embedding are not decayed. 0: plain Adam.
  double weight_decay = 0.0;
  // Adversarial training (model/adversarial.h): each step also backpropagates
  // the loss of its reviews with their embedded words moved by r_adv of this
  // L2 norm, the gradients summed before the sync. 0: off.
  double adversarial_epsilon = 0.0;
  // Seeds the dropout masks: step s on rank r draws from
  // model::dropout_generator(seed, s, r) (model/dropout.h).
  uint64_t seed = 0;

  // --clip-grad-norm, --bucket-mb, --overlap-sync, --sparse-embedding, --bf16-allreduce,
  // --weight-decay, --adversarial-epsilon and --seed.
  static StepOptions of(const TrainConfig& config);
};

// Seconds spent in each part of a step, on this rank, from `start` (wall clock).
struct StepTimes {
  std::chrono::system_clock::time_point start;
  double forward = 0.0;    // model and loss
  double backward = 0.0;   // autograd, buckets started as they fill (with adversarial training: both
                           // backwards and the perturbed forward)
  double sync = 0.0;       // waiting for the buckets' allreduces after backward
  double optimizer = 0.0;  // clipping and Adam
  double total() const { return forward + backward + sync + optimizer; }
};

struct StepResult {
  double local_loss = 0.0;  // this rank's summed loss / global batch (rank_agreement.h adds them up)
  // The global gradient's norm before clipping: the same on every rank. When
  // it is NaN or infinite the step applied no update (the parameters stay as
  // they were, finite), and the caller must stop: training diverged.
  double grad_norm = 0.0;
  bool applied = true;
  StepTimes times;
};

// After the ranks agreed on the step's `loss`: throws AgreedError (exit 1)
// when training diverged at step `step` (a gradient or loss that is NaN or
// infinite; the update was not applied).
void check_step_finite(int64_t step, const StepResult& result, double loss);

class TrainStep {
 public:
  // collective (GradientSync rebinds the gradients): every rank builds one
  // over its replica. The model must outlive the step.
  TrainStep(model::AttentionGRU& model, dist::Communicator& comm, StepOptions options);
  ~TrainStep();

  // collective: one optimiser step on this rank's samples (tokens [b, T] and
  // labels [b] on the model's device; b is this rank's share of
  // `global_batch`), at learning rate `lr`; none when the gradient is not
  // finite (StepResult::applied). `step` (the step being taken, from 1)
  // picks the dropout masks, so a resumed run draws the same ones.
  StepResult run(const torch::Tensor& tokens, const torch::Tensor& labels, int64_t global_batch, double lr,
                 int64_t step = 0);

  torch::optim::Adam& optimizer() { return *optimizer_; }
  const dist::GradientSync& sync() const { return *sync_; }

 private:
  model::AttentionGRU& model_;
  // Constant after construction.
  StepOptions options_;
  std::vector<torch::Tensor> params_;
  std::vector<torch::Tensor> decayed_;  // the weight matrices weight_decay shrinks
  int rank_ = 0;
  std::unique_ptr<torch::optim::Adam> optimizer_;
  std::unique_ptr<dist::GradientSync> sync_;
};

}  // namespace distgru::train
