#include "train/trainer.h"

#include <chrono>
#include <cmath>
#include <filesystem>

#include "common/error.h"
#include "common/log.h"
#include "distributed/tensor_collectives.h"
#include "runtime/stop_signals.h"
#include "train/lr_schedule.h"
#include "train/progress.h"
#include "train/rank_agreement.h"
#include "train/replica.h"

namespace distgru::train {
namespace {

StepOptions step_options(const TrainConfig& c) {
  StepOptions o;
  o.clip_grad_norm = c.clip_grad_norm;
  o.sync.bucket_bytes = static_cast<int64_t>(c.bucket_mb * 1e6);
  o.sync.overlap = c.overlap_sync;
  return o;
}

}  // namespace

Trainer::Trainer(TrainConfig config, dist::Communicator& comm, FileSystem& files)
    : config_(std::move(config)),
      comm_(comm),
      is_root_(comm.rank() == 0),
      data_(config_, comm.rank(), comm.size()),
      schedule_(config_, data::steps_per_epoch(data_.train_size(), config_.batch_size, comm.size())),
      checkpoints_(config_.checkpoint_dir, config_.checkpoint_every, config_.keep_checkpoints, files),
      model_(build_replica(config_, comm)),
      step_(std::make_unique<TrainStep>(model_, comm, step_options(config_))),
      cursor_(data_.train_size(), config_.batch_size, config_.seed, comm.rank(), comm.size()),
      best_(config_.select_metric) {
  spdlog::info("data: {} training reviews ({} held out for validation), {} steps/epoch, {} steps, "
               "local batch {} of global {}",
               data_.train_size(), data_.validation().size(), cursor_.steps_per_epoch(),
               schedule_.total_steps(), data::local_batch(config_.batch_size, comm.rank(), comm.size()),
               config_.batch_size);
  const auto& sync = step_->sync();
  spdlog::info("model: {} parameters, gradient buffer {:.1f} MB, backend {} on {}",
               model::parameter_count(*model_), sync.bytes() / 1e6, comm_.backend(), comm_.device().str());
  spdlog::info("gradient sync: {}, {}", sync.plan().describe(),
               sync.overlapping() ? "reduced during backward" : "reduced after backward");
  if (is_root_ && checkpoints_.enabled()) {
    checkpoints_.create_dir();
    metrics_ = std::make_unique<MetricsLog>(checkpoints_.metrics_path());
  }
  state_.position = cursor_.position();
  resume_if_asked();
}

Trainer::~Trainer() = default;

void Trainer::resume_if_asked() {
  if (config_.resume.empty()) return;
  std::string path = config_.resume;
  if (config_.resume == "auto") {
    DISTGRU_CHECK(checkpoints_.enabled(), "--resume auto needs --checkpoint-dir");
    // Rank 0 picks (skipping corrupted files) and everyone loads the same one.
    if (is_root_) {
      std::vector<std::string> skipped;
      path = checkpoints_.find_resume(&skipped).value_or("");
      for (const auto& s : skipped) spdlog::warn("resume: skipping unusable checkpoint {}", s);
      if (!skipped.empty() && !path.empty()) spdlog::warn("resume: falling back to {}", path);
    }
    path = dist::broadcast_string(comm_, path, 0);
    if (path.empty()) {
      spdlog::info("resume: no usable checkpoint in {} yet, starting from scratch", config_.checkpoint_dir);
      return;
    }
  }
  const auto differences = model_differences(config_from_ini(read_checkpoint_header(path).config_ini, path), config_);
  DISTGRU_CHECK(differences.empty(), path + ": checkpoint was written for another model, refusing to "
                                            "resume (checkpoint vs config): " + differences);
  state_ = load_checkpoint(path, *model_, &step_->optimizer()).state;
  const auto saved = state_.position;
  if (cursor_.resume(saved)) {
    std::string change = saved.world_size != comm_.size()
                             ? fmt::format("written by {} ranks, continuing on {}", saved.world_size, comm_.size())
                             : "";
    if (saved.global_batch != config_.batch_size) {
      change += fmt::format("{}written with global batch {}, continuing with {}", change.empty() ? "" : "; ",
                            saved.global_batch, config_.batch_size);
    }
    spdlog::warn("resume: checkpoint {}; the rest of epoch {} visits the samples not yet seen in it, in a new order",
                 change, saved.epoch + 1);
  }
  state_.position = cursor_.position();
  if (state_.best_step >= 0) {
    std::vector<torch::Tensor> best;
    if (auto best_path = checkpoints_.usable_best()) {
      model::AttentionGRU copy(model_config(config_));
      load_checkpoint(*best_path, *copy, nullptr);
      for (auto& p : copy->parameters()) best.push_back(p.detach().to(comm_.device()));
    }
    best_.restore(state_.best_metric, state_.best_step, std::move(best));
  }
  spdlog::info("resume: {} at step {} (epoch {}, step {} of the epoch)", path, state_.step, saved.epoch + 1,
               saved.step_in_epoch);
}

void Trainer::log_step(double loss, double samples_per_second, const StepTimes& times) {
  if (!metrics_) return;
  report::StepRecord record;
  record.step = state_.step;
  record.epoch = cursor_.epoch() + (cursor_.at_epoch_start() ? 0 : 1);
  record.loss = loss;
  record.samples_per_sec = samples_per_second;
  record.lr = last_lr_;
  record.sync_seconds = times.sync;
  metrics_->append(report::to_json(record));
}

void Trainer::validate() {
  if (data_.validation().size() == 0) return;
  auto r = evaluate(model_, comm_, data_.shards(), data_.validation(), config_.eval_batch_size);
  const bool improved = best_.offer(r, state_.step, model_->parameters());
  spdlog::info("validation at step {}: accuracy {:.4f} auc {:.4f} loss {:.4f}{}", state_.step, r.accuracy, r.auc,
               r.loss, improved ? " (best so far)" : "");
  if (metrics_) metrics_->append(report::to_json(record_of(r, state_.step, "validation")));
  if (!improved) return;
  state_.best_metric = best_.score();
  state_.best_step = best_.step();
  if (is_root_ && checkpoints_.enabled()) checkpoints_.save_best(*model_, state_, to_ini(config_));
}

void Trainer::save_checkpoint() {
  if (!is_root_ || !checkpoints_.enabled()) return;
  const auto start = std::chrono::steady_clock::now();
  const auto path = checkpoints_.save_step(*model_, step_->optimizer(), state_, to_ini(config_));
  spdlog::info("checkpoint {} written in {:.2f} s", std::filesystem::path(path).filename().string(),
               std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count());
}

TrainResult Trainer::run() {
  TrainResult result;
  Progress progress(schedule_.total_steps(), cursor_.steps_per_epoch(), config_.batch_size, state_.step);
  TrainingClock clock;
  const int64_t first_step = state_.step;
  torch::Tensor tokens, labels;
  model_->train();
  while (!schedule_.finished(state_.step, cursor_.epoch())) {
    data_.batch(cursor_.next_batch(), comm_.device(), tokens, labels);
    last_lr_ = learning_rate_at(config_.lr_schedule, config_.learning_rate, state_.step, schedule_.total_steps(),
                                config_.warmup_steps, config_.lr_final_fraction);
    const auto stepped = step_->run(tokens, labels, config_.batch_size, last_lr_);
    ++state_.step;
    const bool epoch_ended = cursor_.advance();
    state_.position = cursor_.position();
    const auto agreed = agree_after_step(comm_, stepped.local_loss, runtime::stop_signal());
    DISTGRU_CHECK(std::isfinite(agreed.loss), "training diverged: loss is " + std::to_string(agreed.loss) +
                                                  " at step " + std::to_string(state_.step));
    const bool last = schedule_.finished(state_.step, cursor_.epoch());
    if (schedule_.log_due(state_.step, last)) {
      const auto line = progress.update(state_.step, agreed.loss, clock.window_seconds());
      progress.show(line);  // one updating line on a terminal, else a log line
      log_step(agreed.loss, line.samples_per_second, stepped.times);
      clock.new_window();
    }
    const bool validating = schedule_.validation_due(state_.step, epoch_ended);
    // A live line ends before anything else logs, so log lines never land in it.
    if (last || validating || checkpoints_.due(state_.step) || agreed.stop_signal) progress.end_line();
    clock.pause();
    if (validating) validate();
    if (checkpoints_.due(state_.step)) save_checkpoint();
    if (agreed.stop_signal) {
      const auto stop_start = std::chrono::steady_clock::now();
      if (checkpoints_.due_at_end(state_.step)) save_checkpoint();
      comm_.barrier();  // the checkpoint is safe before any rank exits
      spdlog::warn("stopped by signal {} at step {}; checkpoint safe {:.2f} s after the step ended", agreed.stop_signal,
                   state_.step, std::chrono::duration<double>(std::chrono::steady_clock::now() - stop_start).count());
      result.steps = state_.step - first_step;
      result.stop_signal = agreed.stop_signal;
      return result;
    }
    clock.resume();
  }
  result.steps = state_.step - first_step;
  result.train_seconds = clock.training_seconds();
  result.samples_per_second =
      result.train_seconds > 0 ? result.steps * config_.batch_size / result.train_seconds : 0.0;
  // A final validation unless the last step just had one.
  if (best_.step() != state_.step && !schedule_.validation_due(state_.step, cursor_.at_epoch_start())) validate();
  if (checkpoints_.due_at_end(state_.step)) save_checkpoint();
  result.best_validation = best_.result();
  result.model_step = best_.has_parameters() ? best_.step() : state_.step;
  result.test = test_best_model();
  return result;
}

EvalResult Trainer::test_best_model() {
  const bool best = best_.copy_into(model_->parameters());
  const int64_t step = best ? best_.step() : state_.step;
  data::ShardedDataset test_set(config_.data_dir, "test", shard_meta(config_, "test"), config_.verify_checksums);
  spdlog::info("scoring {} test reviews with the parameters of step {}", test_set.size(), step);
  auto r = evaluate(model_, comm_, test_set, {0, test_set.size()}, config_.eval_batch_size);
  if (is_root_ && checkpoints_.enabled()) {
    const auto record = report::to_json(record_of(r, step, "test"));
    if (metrics_) metrics_->append(record);
    checkpoints_.save_text("test_metrics.json", dump_json(record, 2) + "\n");
  }
  return r;
}

}  // namespace distgru::train
