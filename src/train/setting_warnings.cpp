#include "train/setting_warnings.h"

#include <fmt/format.h>

#include "train/step_trace.h"

namespace distgru::train {

std::vector<std::string> setting_warnings(const TrainConfig& config, const RunFacts& facts) {
  std::vector<std::string> out;
  const bool saves = !config.checkpoint_dir.empty();
  if (!saves) {
    out.push_back("no --checkpoint-dir: this run saves nothing (no checkpoint, best.pt, metrics.jsonl or test "
                  "scores), and its model is lost when it ends");
    if (config.sample_log) out.push_back("--sample-log 1 without --checkpoint-dir: no sample log is written");
  }
  if (facts.validation_reviews == 0) {
    out.push_back(fmt::format(
        "{}: no validation, so no best.pt; the test scores the final parameters{}",
        config.val_fraction > 0
            ? fmt::format("--val-fraction {:g} of {} reviews holds none back", config.val_fraction, facts.train_reviews)
            : std::string("--val-fraction 0"),
        config.early_stop_patience > 0 || config.ema_decay > 0
            ? ", and --early-stop-patience and the weight average's validation do nothing"
            : ""));
  }
  if (config.warmup_steps > 0 && config.warmup_steps >= facts.total_steps) {
    out.push_back(fmt::format("--warmup-steps {}: the run ends at step {}, so the learning rate never leaves its "
                              "warm-up",
                              config.warmup_steps, facts.total_steps));
  }
  if (const auto range = StepTrace::parse_range(config.trace_steps)) {
    if (!saves) {
      out.push_back("--trace-steps " + config.trace_steps + " without --checkpoint-dir: no timeline is written");
    } else if (range->first <= facts.first_step || range->second > facts.total_steps) {
      const bool none = range->second <= facts.first_step || range->first > facts.total_steps;
      out.push_back(fmt::format("--trace-steps {}: the run takes steps {} to {}, so the timeline will hold {}",
                                config.trace_steps, facts.first_step + 1, facts.total_steps,
                                none ? "no step" : "only the steps of that range it takes"));
    }
  }
  return out;
}

}  // namespace distgru::train
