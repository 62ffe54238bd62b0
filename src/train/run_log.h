#pragma once
// Rank 0's records of a run, as people and tools read them: metrics.jsonl
// (report/run_metrics.h: one JSON object a line, the run's provenance first)
// and, with --tensorboard, TensorBoard's event file under tb/
// (report/tensorboard.h). Every record carries the run's id.

#include <nlohmann/json.hpp>

#include <memory>
#include <string>

#include "report/run_metrics.h"
#include "report/tensorboard.h"
#include "train/metrics_log.h"
#include "train/train_step.h"

namespace distgru::train {

class RunLog {
 public:
  // Opens (appends to) `metrics_path`, writes the run's first record, and
  // with a `tensorboard_dir` a new event file there whose first event is the
  // effective config, at `step` (a resumed run's steps carry on).
  RunLog(const std::string& metrics_path, const std::string& tensorboard_dir, const std::string& run_id,
         const nlohmann::json& provenance, const std::string& config_ini, int64_t step);

  // A logged training step (the global mean `loss`, samples/s over the
  // window since the last one, the learning rate); the gradient norm and the
  // sync share (the part of the step spent waiting for the gradient
  // allreduce) go to TensorBoard.
  void step(int64_t step, int64_t epoch, double loss, double samples_per_second, double lr, const StepResult& last);
  // A validation or test record (its split names the TensorBoard tags).
  void evaluation(report::EvalRecord record);

  // The event file being written; "" without TensorBoard.
  std::string tensorboard_path() const { return tensorboard_ ? tensorboard_->path() : ""; }

 private:
  const std::string run_id_;
  MetricsLog metrics_;
  std::unique_ptr<report::EventWriter> tensorboard_;
};

}  // namespace distgru::train
