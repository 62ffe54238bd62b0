#pragma once
// The records of a run, one type and one JSON layout each, written and read
// here only: the step and evaluation lines of <checkpoint-dir>/metrics.jsonl,
// test_metrics.json and distgru-eval --output (an evaluation record each).
// Pure; no torch.

#include <nlohmann/json.hpp>

#include <cstdint>
#include <istream>
#include <optional>
#include <string>
#include <vector>

namespace distgru::report {

struct StepRecord {
  int64_t step = 0;
  int64_t epoch = 0;             // the epoch the step belongs to, 1-based
  double loss = 0.0;             // mean over the global batch
  double samples_per_sec = 0.0;  // all ranks together, since the previous record
  double lr = 0.0;               // the learning rate of the step
  double sync_seconds = 0.0;     // rank 0's wait for the gradient allreduce
  std::string run;               // the id of the run that wrote it (a resumed run has a new one)
};

struct EvalRecord {
  int64_t step = 0;               // the training step whose parameters were scored
  std::string split;              // "validation", "validation_ema" or "test" (or "train": distgru-eval --split)
  int64_t samples = 0;
  double accuracy = 0.0, auc = 0.0, loss = 0.0;  // auc NaN when a class is absent (JSON null)
  int64_t tp = 0, fp = 0, tn = 0, fn = 0;        // at threshold 0.5, positive = 1
  std::string checkpoint;         // the file scored (distgru-eval); empty in a run's own records
  std::string run;                // the id of the training run that wrote it; empty from distgru-eval

  // 0 when undefined (no predicted or no true positives).
  double precision() const;
  double recall() const;
  double f1() const;
};

// The JSON layouts. Evaluation records carry precision, recall and f1 as well,
// for people reading them; parsing recomputes them from the counts.
nlohmann::json to_json(const StepRecord& record);
nlohmann::json to_json(const EvalRecord& record);

struct RunMetrics {
  std::vector<StepRecord> steps;       // by step; a resumed run's repeats keep the later record
  std::vector<EvalRecord> validation;  // by step, likewise
  std::vector<EvalRecord> validation_ema;  // the weight average's (--ema-decay), likewise
  std::optional<EvalRecord> test;      // the last test record
};

// One JSON object per line; blank lines and each run's first record (its
// provenance: train/provenance.h) are skipped. Errors name `source` and the
// line number.
RunMetrics parse_metrics_jsonl(std::istream& in, const std::string& source);

// An evaluation record as to_json writes it (test_metrics.json, distgru-eval
// --output). Errors name `source`.
EvalRecord parse_eval_record(const std::string& json_text, const std::string& source);

}  // namespace distgru::report
