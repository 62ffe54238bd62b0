#include "train/run_log.h"

#include "train/provenance.h"

namespace distgru::train {

RunLog::RunLog(const std::string& metrics_path, const std::string& tensorboard_dir, const std::string& run_id,
               const nlohmann::json& provenance, const std::string& config_ini, int64_t step)
    : run_id_(run_id), metrics_(metrics_path) {
  metrics_.append({{"run", run_id_}, {"provenance", provenance}});
  if (tensorboard_dir.empty()) return;
  tensorboard_ = std::make_unique<report::EventWriter>(tensorboard_dir);
  tensorboard_->text(step, "config",
                     "Run " + run_id_ + ": " + provenance_line(provenance) + "\n\n```\n" + config_ini + "```\n");
}

void RunLog::step(int64_t step, int64_t epoch, double loss, double samples_per_second, double lr,
                  const StepResult& last) {
  report::StepRecord record;
  record.step = step;
  record.epoch = epoch;
  record.loss = loss;
  record.samples_per_sec = samples_per_second;
  record.lr = lr;
  record.sync_seconds = last.times.sync;
  record.run = run_id_;
  const double gradient_norm = last.grad_norm;
  const double sync_share = last.times.total() > 0 ? last.times.sync / last.times.total() : 0.0;
  metrics_.append(report::to_json(record));
  if (!tensorboard_) return;
  tensorboard_->scalars(record.step, {{"train/loss", record.loss},
                                      {"train/learning_rate", record.lr},
                                      {"train/samples_per_sec", record.samples_per_sec},
                                      {"train/gradient_norm", gradient_norm},
                                      {"train/sync_share", sync_share}});
}

void RunLog::evaluation(report::EvalRecord record) {
  record.run = run_id_;
  metrics_.append(report::to_json(record));
  if (!tensorboard_) return;
  tensorboard_->scalars(record.step, {{record.split + "/accuracy", record.accuracy},
                                      {record.split + "/auc", record.auc},
                                      {record.split + "/loss", record.loss}});
}

}  // namespace distgru::train
