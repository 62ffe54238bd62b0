#pragma once
// The data-parallel training loop. Every rank builds the same model (rank 0's
// parameters are broadcast), reads only its block of the training split, and
// per step: forward on its local batch, backward on loss/global_batch, one
// fused gradient allreduce, clipping, Adam. Rank 0 logs, writes metrics.jsonl,
// checkpoints and best.pt; validation and the final test evaluation are
// computed by all ranks together.

#include <memory>
#include <optional>
#include <vector>

#include "common/file_system.h"
#include "data/dataset.h"
#include "data/epoch_plan.h"
#include "distributed/communicator.h"
#include "distributed/gradient_sync.h"
#include "model/attention_gru.h"
#include "train/checkpoint.h"
#include "train/config.h"
#include "train/evaluator.h"
#include "train/lr_schedule.h"
#include "train/metrics_log.h"
#include "train/samples.h"

namespace distgru::train {

struct TrainResult {
  int64_t steps = 0;
  double train_seconds = 0.0;          // wall time of the training loop
  double samples_per_second = 0.0;     // over all training steps of this run
  std::optional<EvalResult> best_validation;
  std::optional<EvalResult> test;
  int64_t model_step = 0;              // step whose parameters were tested
  int stop_signal = 0;                 // > 0: stopped early by this signal, checkpoint written
};

class Trainer {
 public:
  // collective: loads data, builds the model and optimiser, resumes if asked.
  // Every file rank 0 writes goes through `files` (tests inject faults there).
  Trainer(TrainConfig config, dist::Communicator& comm, FileSystem& files = FileSystem::local());
  ~Trainer();

  // collective: trains to the configured step count, then scores the test set.
  // When a stop signal arrives (runtime/stop_signals.h), all ranks stop at the same step
  // boundary, rank 0 checkpoints, and run() returns with stop_signal set.
  TrainResult run();

  // collective: one optimiser step on explicit local samples (tests use this
  // to compare world sizes on the same global batch). Returns the global mean
  // loss. `tokens`/`labels` are this rank's share; global_batch is the sum.
  double step_on(const torch::Tensor& tokens, const torch::Tensor& labels, int64_t global_batch);

  model::AttentionGRU& model() { return model_; }
  const TrainState& state() const { return state_; }
  int64_t steps_per_epoch() const { return steps_per_epoch_; }
  int64_t total_steps() const { return total_steps_; }

 private:
  void resume_if_asked();
  std::string agree_on_resume_path();
  bool finished() const;
  void next_batch(torch::Tensor& tokens, torch::Tensor& labels);
  void advance_position();
  // collective: the largest stop signal any rank received (0: none).
  int agree_to_stop();
  bool due(int64_t every) const;
  void validate();
  void save_step_checkpoint();
  void log_step(double loss, double window_seconds, int64_t window_steps);
  EvalResult test_best_model();

  TrainConfig config_;
  dist::Communicator& comm_;
  FileSystem& files_;
  bool is_root_;

  // Data: constant after construction.
  std::unique_ptr<data::ShardedDataset> train_set_;
  Samples local_;                 // this rank's block of the training range
  data::Range block_;             // ... as global rows
  int64_t n_train_ = 0;
  data::Range validation_range_;  // global rows held out for validation
  int64_t local_batch_ = 0;
  int64_t steps_per_epoch_ = 0;
  int64_t total_steps_ = 0;
  double last_lr_ = 0.0;  // the rate of the last update (train/lr_schedule.h)

  model::AttentionGRU model_{nullptr};
  std::unique_ptr<torch::optim::Adam> optimizer_;
  std::unique_ptr<dist::GradientSync> sync_;
  std::vector<torch::Tensor> best_parameters_;  // copy taken at the best validation

  TrainState state_;
  data::SegmentPlan plan_;        // this rank's samples for the current segment
  int64_t plan_epoch_ = -1;       // epoch plan_ belongs to (-1: none yet)
  int64_t segment_offset_ = 0;    // steps of the epoch taken before plan_'s segment
  std::unique_ptr<MetricsLog> metrics_;  // rank 0 only
  std::optional<EvalResult> best_validation_;
};

}  // namespace distgru::train
