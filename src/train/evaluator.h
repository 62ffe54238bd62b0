#pragma once
// Distributed evaluation: each rank scores its block of the range, the
// per-sample probabilities and losses meet in one allreduce (each rank fills
// only its rows of a zeroed buffer), and every rank then holds all of them and
// computes the same metrics.

#include <cstdint>
#include <vector>

#include "data/dataset.h"
#include "data/sampler.h"
#include "distributed/communicator.h"
#include "model/attention_gru.h"
#include "report/run_metrics.h"
#include "train/metrics.h"

namespace distgru::train {

struct EvalResult {
  // > 0: a stop signal (runtime/stop_signals.h) cut the evaluation short on
  // some rank; no metric below is set.
  int interrupted_by = 0;
  int64_t samples = 0;
  double accuracy = 0.0;
  double auc = 0.0;
  double loss = 0.0;                  // mean cross-entropy
  Confusion confusion;
  std::vector<double> probabilities;  // P(positive), global order of the range
  std::vector<int32_t> labels;
};

// collective: every rank calls with the same dataset range. The model is put
// in eval mode for the duration and restored to train mode after. A stop
// signal received meanwhile ends the scoring after the batch under way, on
// every rank (interrupted_by). Scores that are NaN or infinite (a model whose
// parameters diverged) throw AgreedError naming `what`, e.g. "validation at
// step 1: 100 of 100 scores are NaN or infinite".
EvalResult evaluate(model::AttentionGRU& model, dist::Communicator& comm,
                    const data::ShardedDataset& dataset, data::Range range, int64_t batch_size,
                    const std::string& what = "evaluation");

// The result as the one record type every tool writes (report/run_metrics.h):
// `step` is the training step whose parameters were scored.
report::EvalRecord record_of(const EvalResult& result, int64_t step, const std::string& split);

}  // namespace distgru::train
