#include "train/trainer.h"

#include <chrono>
#include <cmath>
#include <filesystem>
#include <optional>

#include "common/error.h"
#include "common/log.h"
#include "data/dataset.h"
#include "data/manifest.h"
#include "distributed/tensor_collectives.h"
#include "runtime/stop_signals.h"
#include "train/lr_schedule.h"
#include "train/progress.h"
#include "train/provenance.h"
#include "train/rank_agreement.h"
#include "train/replica.h"
#include "train/resume.h"
#include "train/setting_warnings.h"
#include "train/step_trace.h"

namespace distgru::train {
namespace {

// `make()` on every rank, a refusal (kExitRefused) on every rank when it
// throws on any (agree_on_check): the files and settings a run checks
// before training are the user's to fix, and one rank's exception would
// otherwise abort the job with MPI's boilerplate.
template <typename Make>
auto agreed(dist::Communicator& comm, Make make) -> decltype(make()) {
  std::optional<decltype(make())> made;
  agree_on_check(comm, [&] { made.emplace(make()); });
  return std::move(*made);
}

}  // namespace

Trainer::Trainer(TrainConfig config, dist::Communicator& comm, FileSystem& files)
    : config_(agreed_config(std::move(config), comm)),
      comm_(comm),
      is_root_(comm.rank() == 0),
      run_id_(new_run_id()),
      lock_(lock_run_directory(config_.checkpoint_dir, comm, run_id_)),
      data_(agreed(comm, [&] { return TrainingData(config_, comm.rank(), comm.size()); })),
      schedule_(config_, agreed(comm, [&] {
                  return data::steps_per_epoch(data_.train_size(), config_.batch_size, comm.size());
                })),
      checkpoints_(config_.checkpoint_dir, config_.checkpoint_every, config_.keep_checkpoints, files),
      model_(build_replica(config_, comm)),
      step_(std::make_unique<TrainStep>(model_, comm, StepOptions::of(config_))),
      cursor_(agreed(comm, [&] {
        return data::EpochCursor(data_.train_size(), config_.batch_size, config_.seed, comm.rank(), comm.size());
      })),
      best_(config_.select_metric) {
  spdlog::info("data: {} training reviews ({} held out for validation), {} steps/epoch, {} steps, "
               "local batch {} of global {}",
               data_.train_size(), data_.validation().size(), cursor_.steps_per_epoch(),
               schedule_.total_steps(), data::local_batch(config_.batch_size, comm.rank(), comm.size()),
               config_.batch_size);
  const auto& sync = step_->sync();
  spdlog::info("model: {} parameters, gradient buffer {:.1f} MB, backend {} on {}",
               model::parameter_count(*model_), sync.bytes() / 1e6, comm_.backend(), comm_.device().str());
  spdlog::info("gradient sync: {}, {}{}{}", sync.plan().describe(),
               sync.overlapping() ? "reduced during backward" : "reduced after backward",
               sync.sparse() ? "; the embedding's gradient as the rows each batch touched (--sparse-embedding)"
                             : "",
               sync.wire_dtype() == torch::kBFloat16 ? "; buckets sent as bfloat16 (--bf16-allreduce)" : "");
  if (config_.adversarial_epsilon > 0) {
    spdlog::info("adversarial training: each review also trained with its embedded words moved by L2 norm {} "
                 "the way that raises its loss most (about twice a step's work)",
                 config_.adversarial_epsilon);
  }
  if (config_.ema_decay > 0) {
    ema_.emplace(config_.ema_decay, model_->parameters());
    spdlog::info("weight average: decay {} (over about {:.0f} steps), validated beside the trained weights",
                 config_.ema_decay, 1.0 / (1.0 - config_.ema_decay));
  }
  const auto made_by = provenance(&comm_);
  state_.provenance = made_by.dump();
  state_.position = cursor_.position();
  state_.data_fingerprint = data::data_fingerprint(config_.data_dir);
  state_.vocab_fingerprint = data::vocab_fingerprint(config_.data_dir);
  resume_if_asked();
  // The test split is read after training: a file missing or damaged there
  // is found now, before the run spends its hours.
  if (config_.score_test) {
    agree_on_check(comm_, [&] {
      data::ShardedDataset(config_.data_dir, "test", shard_meta(config_, "test"), config_.verify_checksums);
    });
  }
  if (is_root_) {
    const RunFacts facts{data_.train_size(), static_cast<int64_t>(data_.validation().size()), state_.step,
                         schedule_.total_steps()};
    for (const auto& warning : setting_warnings(config_, facts)) spdlog::warn("{}", warning);
  }
  if (config_.sample_log && checkpoints_.enabled()) {
    sample_log_.emplace(config_.checkpoint_dir, dist::broadcast_string(comm_, run_id_), comm.rank(), comm.size(),
                        state_.step);
    if (is_root_) spdlog::info("sample log: every rank's rows per step under {}/samples", config_.checkpoint_dir);
  }
  if (const auto range = StepTrace::parse_range(config_.trace_steps)) {
    trace_.emplace(range->first, range->second, comm.rank(), made_by["hosts"][comm.rank()].get<std::string>());
  }
  if (is_root_ && checkpoints_.enabled()) {
    log_ = std::make_unique<RunLog>(checkpoints_.metrics_path(), config_.tensorboard ? checkpoints_.path("tb") : "",
                                    run_id_, made_by, to_ini(config_), state_.step);
    spdlog::info("run {}: {} holds {}", run_id_, describe_this_process(run_id_), lock_->path());
    spdlog::info("records: {}{}", checkpoints_.metrics_path(),
                 log_->tensorboard_path().empty() ? " (--tensorboard 0: no event file)"
                                                  : "; TensorBoard: " + log_->tensorboard_path() +
                                                        " (tensorboard --logdir " + checkpoints_.path("tb") + ")");
  }
}

Trainer::~Trainer() = default;

void Trainer::resume_if_asked() {
  const auto path = choose_resume_checkpoint(config_, checkpoints_, comm_);
  if (path.empty()) {
    // --resume auto with no checkpoint yet continues whatever the directory
    // holds (a run stopped before its first checkpoint).
    if (config_.resume.empty()) check_run_directory(checkpoints_, "", 0, comm_);
    return;
  }
  const auto saved = agreed(comm_, [&] {
    DISTGRU_CHECK(!std::filesystem::is_directory(path),
                  "--resume " + path + " is a directory: name a checkpoint file in it, or pass --resume auto "
                  "with --checkpoint-dir " + path);
    return read_checkpoint_header(path);
  });
  // --resume auto took the directory's newest usable checkpoint: anything
  // later there is a file it skipped as unusable, and said so.
  if (config_.resume != "auto") check_run_directory(checkpoints_, path, saved.state.step, comm_);
  check_resume_allowed(path, saved, config_, state_);
  const auto then = config_from_ini(saved.config_ini, path);
  const auto fresh = state_;
  auto loaded = agreed(comm_, [&] { return load_checkpoint(path, *model_, &step_->optimizer()); });
  state_ = loaded.state;
  if (ema_ && !loaded.weight_average.empty()) {
    ema_->restore(loaded.weight_average);
  } else if (ema_) {
    ema_->restore(model_->parameters());
    spdlog::warn("{} holds no weight average (the run was started without --ema-decay): the average starts "
                 "from its parameters at step {}", path, state_.step);
  } else if (!loaded.weight_average.empty()) {
    spdlog::warn("{} holds a weight average, which this run (--ema-decay 0) does not continue", path);
  }
  state_.data_fingerprint = fresh.data_fingerprint;  // what the run trains on from here
  state_.vocab_fingerprint = fresh.vocab_fingerprint;
  state_.provenance = fresh.provenance;
  const auto position = state_.position;
  if (cursor_.resume(position)) spdlog::warn("{}", epoch_change_note(position, comm_.size(), config_.batch_size));
  state_.position = cursor_.position();
  // The steps so far ran at the checkpoint's batch and world size, the rest
  // at this run's: the schedule's total (and so the learning-rate curve)
  // counts both.
  schedule_.resumed(state_.step, cursor_.epoch(), cursor_.steps_left_in_epoch());
  const int64_t total_then =
      Schedule(then, data::steps_per_epoch(data_.train_size(), then.batch_size, position.world_size)).total_steps();
  for (const auto& note : resume_notes(saved, config_, total_then, schedule_.total_steps())) {
    spdlog::warn("{}", note);
  }
  if (state_.best_step >= 0) {
    best_.restore(state_.best_metric, state_.best_step, best_parameters(checkpoints_, config_, comm_.device()));
  }
  spdlog::info("resume: {} at step {} (epoch {}, step {} of the epoch)", path, state_.step, position.epoch + 1,
               position.step_in_epoch);
}

int Trainer::validate() {
  if (data_.validation().size() == 0) return 0;
  const std::string at_step = " at step " + std::to_string(state_.step);
  const auto r = evaluate(model_, comm_, data_.shards(), data_.validation(), config_.eval_batch_size,
                          "validation" + at_step);
  std::optional<EvalResult> averaged;
  if (ema_ && r.interrupted_by == 0) {
    const AveragedWeightsInPlace in_place(*ema_, model_->parameters());
    averaged = evaluate(model_, comm_, data_.shards(), data_.validation(), config_.eval_batch_size,
                        "validation of the weight average" + at_step);
  }
  // Cut short by a stop signal: the resumed run validates this step first.
  const int interrupted_by = r.interrupted_by != 0 ? r.interrupted_by : averaged ? averaged->interrupted_by : 0;
  state_.validation_pending = interrupted_by != 0;
  if (interrupted_by != 0) return interrupted_by;
  validated_at_ = state_.step;
  const bool improved = best_.offer(r, state_.step, model_->parameters());
  bool averaged_improved = false;
  if (averaged) {
    const AveragedWeightsInPlace in_place(*ema_, model_->parameters());
    averaged_improved = best_.offer(*averaged, state_.step, model_->parameters());
  }
  if (improved || averaged_improved) state_.best_averaged = averaged_improved;
  state_.validations_since_best = improved || averaged_improved ? 0 : state_.validations_since_best + 1;
  spdlog::info("validation{}: accuracy {:.4f} auc {:.4f} loss {:.4f}{}", at_step, r.accuracy, r.auc, r.loss,
               improved && !averaged_improved ? " (best so far)" : "");
  if (log_) log_->evaluation(record_of(r, state_.step, "validation"));
  if (averaged) {
    spdlog::info("validation{} of the weight average: accuracy {:.4f} auc {:.4f} loss {:.4f}{}", at_step,
                 averaged->accuracy, averaged->auc, averaged->loss, averaged_improved ? " (best so far)" : "");
    if (log_) log_->evaluation(record_of(*averaged, state_.step, "validation_ema"));
  }
  if (config_.early_stop_patience > 0) {
    // Rank 0's count decides for every rank (each computed the same scores,
    // but no rank may ever stop alone); validation is collective already,
    // so this makes no rank wait.
    auto count = torch::full({1}, state_.validations_since_best,
                             torch::TensorOptions().dtype(torch::kLong).device(comm_.device()));
    comm_.broadcast(count, 0);
    state_.validations_since_best = count.to(torch::kCPU).item<int64_t>();
  }
  if (!improved && !averaged_improved) return 0;
  state_.best_metric = best_.score();
  state_.best_step = best_.step();
  if (is_root_ && checkpoints_.enabled()) {
    // best.pt holds whichever weights won, so predict, eval and the exports
    // need not know about the average.
    std::optional<AveragedWeightsInPlace> in_place;
    if (averaged_improved) in_place.emplace(*ema_, model_->parameters());
    checkpoints_.save_best(*model_, state_, to_ini(config_));
  }
  return 0;
}

void Trainer::save_checkpoint() {
  if (!is_root_ || !checkpoints_.enabled()) return;
  const auto start = std::chrono::steady_clock::now();
  const auto path = checkpoints_.save_step(*model_, step_->optimizer(), state_, to_ini(config_),
                                           ema_ ? ema_->averaged() : std::vector<torch::Tensor>{});
  spdlog::info("checkpoint {} written in {:.2f} s", std::filesystem::path(path).filename().string(),
               std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count());
}

void Trainer::write_trace() {
  const auto text = trace_ ? trace_->gather(comm_) : std::string();
  if (!text.empty() && checkpoints_.enabled()) {
    checkpoints_.save_text("trace.json", text);
    spdlog::info("timeline of steps {} written to {} (ui.perfetto.dev, chrome://tracing, or distgru-report)",
                 config_.trace_steps, checkpoints_.path("trace.json"));
  }
}

int Trainer::stop(int signal) {
  write_trace();
  const auto start = std::chrono::steady_clock::now();
  if (checkpoints_.due_at_end(state_.step)) save_checkpoint();
  comm_.barrier();  // the checkpoint is safe before any rank exits
  spdlog::warn("stopped by signal {} at step {}; checkpoint safe {:.2f} s after the step ended", signal, state_.step,
               std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count());
  return signal;
}

TrainResult Trainer::run() {
  TrainResult result;
  const int64_t total_epochs = config_.steps > 0
                                   ? (config_.steps + cursor_.steps_per_epoch() - 1) / cursor_.steps_per_epoch()
                                   : config_.epochs;
  Progress progress(schedule_.total_steps(), total_epochs, config_.batch_size, state_.step);
  TrainingClock clock;
  const int64_t first_step = state_.step;
  if (state_.validation_pending) {
    if (const int signal = validate()) {
      result.stop_signal = stop(signal);
      return result;
    }
  }
  torch::Tensor tokens, labels;
  model_->train();
  while (!schedule_.finished(state_.step, cursor_.epoch()) && !early_stop_due()) {
    const auto batch_begin = std::chrono::system_clock::now();
    const auto rows = cursor_.next_batch();
    data_.batch(rows, comm_.device(), tokens, labels);
    const auto batch_end = std::chrono::system_clock::now();
    last_lr_ = learning_rate_at(config_.lr_schedule, config_.learning_rate, state_.step, schedule_.total_steps(),
                                config_.warmup_steps, config_.lr_final_fraction);
    const auto stepped = step_->run(tokens, labels, config_.batch_size, last_lr_, state_.step + 1);
    const auto agreed = agree_after_step(comm_, stepped.local_loss, runtime::stop_signal());
    check_step_finite(state_.step + 1, stepped, agreed.loss);
    ++state_.step;
    if (ema_) ema_->update(model_->parameters(), state_.step);
    if (sample_log_) sample_log_->record(state_.step, cursor_.epoch(), rows);
    if (trace_ && trace_->covers(state_.step)) {
      trace_->record_step(state_.step, batch_begin, batch_end, stepped.times, step_->sync().last_bucket_spans());
    }
    const bool epoch_ended = cursor_.advance();
    state_.position = cursor_.position();
    const bool last = schedule_.finished(state_.step, cursor_.epoch());
    if (schedule_.log_due(state_.step, last)) {
      // The epoch this step was taken in (the cursor has moved past it).
      const int64_t epoch = cursor_.epoch() + !cursor_.at_epoch_start();
      const auto line = progress.update(state_.step, epoch, agreed.loss, clock.window_seconds());
      progress.show(line);  // one updating line on a terminal, else a log line
      if (log_) log_->step(state_.step, epoch, agreed.loss,
                           line.samples_per_second, last_lr_, stepped);
      clock.new_window();
    }
    const bool validating = schedule_.validation_due(state_.step, epoch_ended);
    // A live line ends before anything else logs, so log lines never land in it.
    if (last || validating || checkpoints_.due(state_.step) || agreed.stop_signal) progress.end_line();
    clock.pause();
    int signal = agreed.stop_signal;
    if (validating) {
      const int cut = traced("validation", [&] { return validate(); });  // a signal during (or before) it cuts it short
      if (signal == 0) signal = cut;
    }
    if (checkpoints_.due(state_.step)) traced("checkpoint", [&] { save_checkpoint(); return 0; });
    if (trace_ && state_.step == trace_->last()) write_trace();
    if (signal != 0) {
      result.steps = state_.step - first_step;
      result.stop_signal = stop(signal);
      return result;
    }
    clock.resume();
  }
  if (early_stop_due()) {
    spdlog::info("early stop at step {}: validation {} has not improved for {} validations "
                 "(--early-stop-patience {}; best {:.4f} at step {})",
                 state_.step, choice_name(config_.select_metric), state_.validations_since_best,
                 config_.early_stop_patience,
                 config_.select_metric == SelectMetric::kLoss ? -best_.score() : best_.score(), best_.step());
  }
  result.steps = state_.step - first_step;
  result.train_seconds = clock.training_seconds();
  result.samples_per_second =
      result.train_seconds > 0 ? result.steps * config_.batch_size / result.train_seconds : 0.0;
  // A final validation unless the last step just had one.
  if (validated_at_ != state_.step && !schedule_.validation_due(state_.step, cursor_.at_epoch_start())) {
    if (const int signal = validate()) {
      result.stop_signal = stop(signal);
      return result;
    }
  }
  if (checkpoints_.due_at_end(state_.step)) save_checkpoint();
  write_trace();  // when the run ended before the trace's last step
  result.best_validation = best_.result();
  result.best_step = best_.step();
  result.best_score = best_.score();
  result.model_step = best_.has_parameters() ? best_.step() : state_.step;
  result.model_averaged = best_.has_parameters() && state_.best_averaged;
  if (!config_.score_test) {
    spdlog::info("test set not scored (--score-test false)");
    if (checkpoints_.enabled() && std::filesystem::exists(checkpoints_.test_metrics_path())) {
      // Kept (nothing written is lost), but it no longer describes best.pt.
      spdlog::warn("{} is from an earlier test scoring, not of this run's best parameters (step {}); left as it "
                   "was",
                   checkpoints_.test_metrics_path(), result.model_step);
    }
    return result;
  }
  result.test = test_best_model();
  if (result.test->interrupted_by != 0) {
    // The run's last checkpoint is written; a resume scores the test set.
    result.stop_signal = stop(result.test->interrupted_by);
    result.test.reset();
  }
  return result;
}

EvalResult Trainer::test_best_model() {
  const bool best = best_.copy_into(model_->parameters());
  const int64_t step = best ? best_.step() : state_.step;
  data::ShardedDataset test_set(config_.data_dir, "test", shard_meta(config_, "test"), config_.verify_checksums);
  spdlog::info("scoring {} test reviews with the {} of step {}", test_set.size(),
               best && state_.best_averaged ? "weight average" : "parameters", step);
  auto r = evaluate(model_, comm_, test_set, {0, test_set.size()}, config_.eval_batch_size,
                    "test scoring with the parameters of step " + std::to_string(step));
  if (r.interrupted_by == 0 && log_) {
    auto record = record_of(r, step, "test");
    log_->evaluation(record);
    record.run = run_id_;
    checkpoints_.save_text(CheckpointPolicy::kTestMetricsName, dump_json(report::to_json(record), 2) + "\n");
  }
  return r;
}

}  // namespace distgru::train
