#pragma once
// The records a training run leaves in <checkpoint-dir>/metrics.jsonl, read
// back for the report. Pure; no torch.

#include <cstdint>
#include <istream>
#include <optional>
#include <string>
#include <vector>

namespace distgru::report {

struct StepRecord {
  int64_t step = 0;
  double epoch = 0.0;
  double loss = 0.0;
  double samples_per_sec = 0.0;
};

struct EvalRecord {
  int64_t step = 0;
  std::string split;  // "validation" or "test"
  double accuracy = 0.0, auc = 0.0, loss = 0.0;
  int64_t tp = 0, fp = 0, tn = 0, fn = 0;
};

struct RunMetrics {
  std::vector<StepRecord> steps;       // by step; a resumed run's repeats keep the later record
  std::vector<EvalRecord> validation;  // by step, likewise
  std::optional<EvalRecord> test;      // the last test record
};

// One JSON object per line; blank lines are skipped. Errors name `source` and
// the line number.
RunMetrics parse_metrics_jsonl(std::istream& in, const std::string& source);

// An eval record as written by the trainer (test_metrics.json has the same
// fields). Errors name `source`.
EvalRecord parse_eval_record(const std::string& json_text, const std::string& source);

}  // namespace distgru::report
