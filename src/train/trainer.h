#pragma once
// The data-parallel training loop, and only the loop. Each step it asks the
// epoch cursor for this rank's batch (data/epoch_cursor.h), runs one
// optimiser step (train_step.h), agrees with the other ranks on the loss and
// on stopping (rank_agreement.h), and then, when the schedule says so
// (schedule.h), logs, validates (best_model.h keeps the best parameters) and
// checkpoints (checkpoint_policy.h decides the files). With --ema-decay a
// moving average of the weights (weight_ema.h) follows every step and is
// validated beside them; best.pt takes whichever validates better. At the
// end the test set is scored with the best parameters. Before it starts: the ranks agree
// on their settings (rank_agreement.h), rank 0 locks the run directory
// (common/run_lock.h), and a resume is checked (resume.h).
//
// Every rank builds the same model (rank 0's parameters are broadcast) and
// reads only its block of the training split. Rank 0 logs, writes
// metrics.jsonl, checkpoints and best.pt; validation and the final test
// evaluation are computed by all ranks together.

#include <memory>
#include <optional>

#include "common/file_system.h"
#include "common/run_lock.h"
#include "data/epoch_cursor.h"
#include "distributed/communicator.h"
#include "model/attention_gru.h"
#include "train/best_model.h"
#include "train/checkpoint_policy.h"
#include "train/config.h"
#include "train/evaluator.h"
#include "train/run_log.h"
#include "train/schedule.h"
#include "train/sample_log.h"
#include "train/step_trace.h"
#include "train/train_step.h"
#include "train/training_data.h"
#include "train/weight_ema.h"

namespace distgru::train {

struct TrainResult {
  int64_t steps = 0;
  double train_seconds = 0.0;          // wall time of the training loop
  double samples_per_second = 0.0;     // over all training steps of this run
  std::optional<EvalResult> best_validation;  // of this process's validations
  int64_t best_step = -1;              // of the best validation, a resumed run's past ones included
  double best_score = 0.0;             // its selection_score (the loss negated)
  std::optional<EvalResult> test;
  int64_t model_step = 0;              // step whose parameters were tested
  bool model_averaged = false;         // ... as their moving average (--ema-decay)
  int stop_signal = 0;                 // > 0: stopped early by this signal, checkpoint written
};

class Trainer {
 public:
  // collective: loads data, builds the model and optimiser, resumes if asked.
  // Every file rank 0 writes goes through `files` (tests inject faults there).
  Trainer(TrainConfig config, dist::Communicator& comm, FileSystem& files = FileSystem::local());
  ~Trainer();

  // collective: trains to the configured step count, then scores the test set.
  // When a stop signal arrives (runtime/stop_signals.h), all ranks stop at the
  // same step boundary, rank 0 checkpoints, and run() returns with stop_signal set.
  TrainResult run();

  model::AttentionGRU& model() { return model_; }
  const TrainState& state() const { return state_; }
  int64_t steps_per_epoch() const { return cursor_.steps_per_epoch(); }
  int64_t total_steps() const { return schedule_.total_steps(); }

 private:
  void resume_if_asked();
  // Validates the parameters as they are; returns the stop signal that cut
  // it short (0: it finished).
  int validate();
  // --early-stop-patience validations in a row without improvement (the same
  // on every rank: validate() takes rank 0's count).
  bool early_stop_due() const {
    return config_.early_stop_patience > 0 && state_.validations_since_best >= config_.early_stop_patience;
  }
  void save_checkpoint();
  // The end of a run stopped by `signal`: rank 0's checkpoint, then every
  // rank past a barrier. Returns `signal`.
  int stop(int signal);
  // The test set scored with the best parameters (interrupted_by > 0 when a
  // stop signal cut it short).
  EvalResult test_best_model();
  // collective: --trace-steps' timeline gathered, and written by rank 0.
  void write_trace();
  // `fn()`, recorded as `name` on the timeline when it covers this step.
  template <typename Fn>
  int traced(const char* name, Fn fn) {
    const auto begin = std::chrono::system_clock::now();
    const int result = fn();
    if (trace_ && trace_->covers(state_.step)) trace_->record(name, begin, std::chrono::system_clock::now(), state_.step);
    return result;
  }

  // Set up by the constructor; the objects behind them keep their own state
  // (the model's parameters and the optimiser's moments change every step).
  const TrainConfig config_;
  dist::Communicator& comm_;
  const bool is_root_;
  const std::string run_id_;       // names this run in metrics.jsonl and in the run lock
  std::optional<RunLock> lock_;    // rank 0: the run directory is this run's alone
  const TrainingData data_;
  Schedule schedule_;  // its total is set again when a resume changes the batch (Schedule::resumed)
  CheckpointPolicy checkpoints_;
  model::AttentionGRU model_;
  std::unique_ptr<TrainStep> step_;
  std::optional<WeightEma> ema_;  // with --ema-decay: the average of the weights, updated every step
  std::unique_ptr<RunLog> log_;  // rank 0 with a checkpoint directory: metrics.jsonl and TensorBoard
  std::optional<StepTrace> trace_;  // with --trace-steps
  std::optional<SampleLog> sample_log_;  // with --sample-log and a checkpoint directory

  // Moved by every step.
  data::EpochCursor cursor_;
  TrainState state_;
  BestModel best_;
  double last_lr_ = 0.0;       // the rate of the last update
  int64_t validated_at_ = -1;  // the step of the last finished validation
};

}  // namespace distgru::train
