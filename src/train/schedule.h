#pragma once
// When the training loop does what, as pure functions of the step: a
// progress line every --log-every steps, validation every --eval-every steps
// or at each epoch's end, and the end of the run (--steps, or --epochs).

#include <cstdint>

#include "train/config.h"

namespace distgru::train {

class Schedule {
 public:
  // `steps_per_epoch`: of this world size and batch, for the total.
  Schedule(const TrainConfig& config, int64_t steps_per_epoch)
      : steps_(config.steps),
        epochs_(config.epochs),
        steps_per_epoch_(steps_per_epoch),
        total_steps_(config.steps > 0 ? config.steps : config.epochs * steps_per_epoch),
        log_every_(config.log_every),
        eval_every_(config.eval_every) {}

  int64_t total_steps() const { return total_steps_; }

  // A run of --epochs resumed at `step` (the steps taken so far, at the
  // world sizes and batches they ran with) in 0-based `epoch`, with
  // `steps_left_in_epoch` at this world size and batch: the total becomes
  // what it will really be, so the learning-rate curve ends where training
  // does. Unchanged when nothing changed; nothing to do under --steps.
  void resumed(int64_t step, int64_t epoch, int64_t steps_left_in_epoch) {
    if (steps_ > 0) return;
    total_steps_ = epoch >= epochs_ ? step : step + steps_left_in_epoch + (epochs_ - epoch - 1) * steps_per_epoch_;
  }

  // Training is over before the step after `step`, which would be in `epoch`.
  bool finished(int64_t step, int64_t epoch) const { return steps_ > 0 ? step >= steps_ : epoch >= epochs_; }

  // A progress line after `step`, and after the last step.
  bool log_due(int64_t step, bool last) const { return last || step % log_every_ == 0; }

  // Validation after `step`: every --eval-every steps, or when 0, after the
  // step that ended an epoch.
  bool validation_due(int64_t step, bool epoch_ended) const {
    return eval_every_ > 0 ? step % eval_every_ == 0 : epoch_ended;
  }

 private:
  // Constant after construction, but total_steps_ (resumed()).
  int64_t steps_, epochs_, steps_per_epoch_, total_steps_, log_every_, eval_every_;
};

}  // namespace distgru::train
