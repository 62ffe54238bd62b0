#include "train/trainer.h"

#include <chrono>
#include <cmath>
#include <filesystem>

#include "common/error.h"
#include "distributed/tensor_collectives.h"
#include "common/log.h"
#include "data/vocabulary.h"
#include "model/glove.h"
#include "train/lr_schedule.h"
#include "train/progress.h"
#include "runtime/stop_signals.h"

namespace fs = std::filesystem;

namespace distgru::train {
namespace {

using Clock = std::chrono::steady_clock;

double seconds_since(Clock::time_point t) {
  return std::chrono::duration<double>(Clock::now() - t).count();
}

nlohmann::json eval_record(const EvalResult& r, int64_t step, const std::string& split) {
  return {{"step", step},         {"split", split},         {"samples", r.samples},
          {"accuracy", r.accuracy}, {"auc", r.auc},           {"loss", r.loss},
          {"tp", r.confusion.tp},  {"fp", r.confusion.fp},   {"tn", r.confusion.tn},
          {"fn", r.confusion.fn}};
}

}  // namespace

Trainer::Trainer(TrainConfig config, dist::Communicator& comm, FileSystem& files)
    : config_(std::move(config)), comm_(comm), files_(files), is_root_(comm.rank() == 0) {
  const int rank = comm_.rank();
  const int world = comm_.size();

  // Data: this rank's block of the training range, the rest untouched.
  train_set_ = std::make_unique<data::ShardedDataset>(
      config_.data_dir, "train", shard_meta(config_, "train"), config_.verify_checksums);
  const int64_t total = train_set_->size();
  const auto held_out = static_cast<int64_t>(std::floor(static_cast<double>(total) * config_.val_fraction));
  const int64_t n_train = total - held_out;
  validation_range_ = {n_train, total};
  steps_per_epoch_ = data::steps_per_epoch(n_train, config_.batch_size, world);
  local_batch_ = data::local_batch(config_.batch_size, rank, world);
  total_steps_ = config_.steps > 0 ? config_.steps : config_.epochs * steps_per_epoch_;
  n_train_ = n_train;
  block_ = data::block_of(n_train, rank, world);
  local_ = load_samples(*train_set_, block_);
  spdlog::info("data: {} training reviews ({} held out for validation), {} steps/epoch, {} steps, "
               "local batch {} of global {}",
               n_train, held_out, steps_per_epoch_, total_steps_, local_batch_, config_.batch_size);

  // Model: the same seed everywhere, then rank 0's parameters win, so replicas
  // are identical even if initialisation ever differed across builds.
  torch::manual_seed(config_.seed);
  model_ = model::AttentionGRU(model_config(config_));
  if (!config_.glove.empty() && is_root_) {
    auto vocab = data::Vocabulary::load((fs::path(config_.data_dir) / "vocab.txt").string());
    auto stats = model::load_glove(config_.glove, vocab, model_->embedding()->weight);
    spdlog::info("glove: {} vectors read, {} vocabulary words initialised", stats.lines, stats.matched);
  }
  model_->to(comm_.device());
  auto params = model_->parameters();
  dist::broadcast_tensors(comm_, params, 0);
  optimizer_ = std::make_unique<torch::optim::Adam>(
      params, torch::optim::AdamOptions(config_.learning_rate));
  dist::GradientSyncOptions sync_options;
  sync_options.bucket_bytes = static_cast<int64_t>(config_.bucket_mb * 1e6);
  sync_options.overlap = config_.overlap_sync;
  sync_ = std::make_unique<dist::GradientSync>(comm_, params, sync_options);
  spdlog::info("model: {} parameters, gradient buffer {:.1f} MB, backend {} on {}",
               model::parameter_count(*model_), sync_->bytes() / 1e6, comm_.backend(),
               comm_.device().str());
  spdlog::info("gradient sync: {}, {}", sync_->plan().describe(),
               sync_->overlapping() ? "reduced during backward" : "reduced after backward");

  if (is_root_ && !config_.checkpoint_dir.empty()) {
    fs::create_directories(config_.checkpoint_dir);
    metrics_ = std::make_unique<MetricsLog>((fs::path(config_.checkpoint_dir) / "metrics.jsonl").string());
  }
  state_.world_size = world;
  resume_if_asked();
}

Trainer::~Trainer() = default;

std::string Trainer::agree_on_resume_path() {
  // Rank 0 picks (skipping corrupted files) and everyone loads the same one.
  std::string found;
  if (is_root_) {
    std::vector<std::string> skipped;
    found = find_usable_checkpoint(config_.checkpoint_dir, &skipped).value_or("");
    for (const auto& s : skipped) spdlog::warn("resume: skipping unusable checkpoint {}", s);
    if (!skipped.empty() && !found.empty()) spdlog::warn("resume: falling back to {}", found);
  }
  return dist::broadcast_string(comm_, found, 0);
}

void Trainer::resume_if_asked() {
  if (config_.resume.empty()) return;
  std::string path = config_.resume;
  if (config_.resume == "auto") {
    DISTGRU_CHECK(!config_.checkpoint_dir.empty(), "--resume auto needs --checkpoint-dir");
    path = agree_on_resume_path();
    if (path.empty()) {
      spdlog::info("resume: no usable checkpoint in {} yet, starting from scratch", config_.checkpoint_dir);
      return;
    }
  }
  auto header = read_checkpoint_header(path);
  const auto differences = model_differences(config_from_ini(header.config_ini, path), config_);
  DISTGRU_CHECK(differences.empty(), path + ": checkpoint was written for another model, refusing to "
                                            "resume (checkpoint vs config): " + differences);
  auto contents = load_checkpoint(path, *model_, optimizer_.get());
  state_ = contents.state;
  if (state_.world_size != comm_.size()) {
    // The rest of this epoch visits only samples the earlier ranks did not.
    int64_t before = 0;
    for (const auto& seg : state_.segments) before += seg.second;
    if (state_.step_in_epoch > before) state_.segments.emplace_back(state_.world_size, state_.step_in_epoch - before);
    spdlog::warn("resume: checkpoint written by {} ranks, continuing on {}; the rest of epoch {} visits "
                 "the samples not yet seen in it, in a new order",
                 state_.world_size, comm_.size(), state_.epoch + 1);
    state_.world_size = comm_.size();
  }
  if (state_.best_step >= 0) {
    const auto best = fs::path(config_.checkpoint_dir) / "best.pt";
    if (fs::is_regular_file(best) && !checkpoint_problem(best.string())) {
      model::AttentionGRU copy(model_config(config_));
      load_checkpoint(best.string(), *copy, nullptr);
      for (auto& p : copy->parameters()) best_parameters_.push_back(p.detach().to(comm_.device()));
    }
  }
  spdlog::info("resume: {} at step {} (epoch {}, step {} of the epoch)", path, state_.step,
               state_.epoch + 1, state_.step_in_epoch);
}

bool Trainer::finished() const {
  return config_.steps > 0 ? state_.step >= config_.steps : state_.epoch >= config_.epochs;
}

void Trainer::next_batch(torch::Tensor& tokens, torch::Tensor& labels) {
  for (;;) {
    if (plan_epoch_ != state_.epoch) {
      std::vector<data::Segment> earlier;
      segment_offset_ = 0;
      for (const auto& [world, steps] : state_.segments) {
        earlier.push_back({static_cast<int>(world), steps});
        segment_offset_ += steps;
      }
      plan_ = data::plan_segment(n_train_, config_.batch_size, config_.seed, state_.epoch, earlier,
                                 comm_.rank(), comm_.size());
      plan_epoch_ = state_.epoch;
    }
    if (state_.step_in_epoch - segment_offset_ < plan_.steps) break;
    // Nothing left in this epoch for a full batch (possible after a resume
    // on another world size): start the next one.
    ++state_.epoch;
    state_.step_in_epoch = 0;
    state_.segments.clear();
  }
  const int64_t pos = state_.step_in_epoch - segment_offset_;
  std::vector<int64_t> local(static_cast<size_t>(plan_.local_batch));
  for (int64_t i = 0; i < plan_.local_batch; ++i) {
    local[static_cast<size_t>(i)] = plan_.order[static_cast<size_t>(pos * plan_.local_batch + i)] - block_.begin;
  }
  auto index = torch::from_blob(local.data(), {plan_.local_batch}, torch::kLong);
  tokens = local_.tokens.index_select(0, index).to(comm_.device());
  labels = local_.labels.index_select(0, index).to(comm_.device());
}

void Trainer::advance_position() {
  ++state_.step_in_epoch;
  if (state_.step_in_epoch - segment_offset_ == plan_.steps) {
    state_.step_in_epoch = 0;
    state_.segments.clear();
    ++state_.epoch;
  }
}

int Trainer::agree_to_stop() {
  auto flag = torch::tensor({static_cast<int32_t>(runtime::stop_signal())}, torch::kInt).to(comm_.device());
  comm_.allreduce(flag, dist::ReduceOp::kMax);
  return flag.item<int32_t>();
}

double Trainer::step_on(const torch::Tensor& tokens, const torch::Tensor& labels, int64_t global_batch) {
  sync_->begin_backward();  // zeroes (or clears) every gradient, as zero_grad()
  auto out = model_->forward(tokens);
  // Sum over local samples / global batch: the allreduced SUM is then exactly
  // the gradient of the global-batch mean, however samples are split.
  auto loss = torch::nn::functional::cross_entropy(
                  out.logits, labels,
                  torch::nn::functional::CrossEntropyFuncOptions().reduction(torch::kSum)) /
              static_cast<double>(global_batch);
  loss.backward();
  sync_->allreduce_gradients();
  if (config_.clip_grad_norm > 0) {
    torch::nn::utils::clip_grad_norm_(model_->parameters(), config_.clip_grad_norm);
  }
  last_lr_ = learning_rate_at(config_.lr_schedule, config_.learning_rate,
                              state_.step, total_steps_, config_.warmup_steps, config_.lr_final_fraction);
  for (auto& group : optimizer_->param_groups()) {
    static_cast<torch::optim::AdamOptions&>(group.options()).lr(last_lr_);
  }
  optimizer_->step();
  ++state_.step;
  auto total = loss.detach().to(torch::kDouble).reshape({1});
  comm_.allreduce(total, dist::ReduceOp::kSum);
  return total.item<double>();
}

bool Trainer::due(int64_t every) const { return every > 0 && state_.step % every == 0; }

void Trainer::validate() {
  if (validation_range_.size() == 0) return;
  auto r = evaluate(model_, comm_, *train_set_, validation_range_, config_.eval_batch_size);
  const double score = selection_score(r, config_.select_metric);
  const bool improved = state_.best_step < 0 || score > state_.best_metric;
  spdlog::info("validation at step {}: accuracy {:.4f} auc {:.4f} loss {:.4f}{}", state_.step,
               r.accuracy, r.auc, r.loss, improved ? " (best so far)" : "");
  if (metrics_) metrics_->append(eval_record(r, state_.step, "validation"));
  if (!improved) return;
  state_.best_metric = score;
  state_.best_step = state_.step;
  best_validation_ = r;
  best_parameters_.clear();
  for (const auto& p : model_->parameters()) best_parameters_.push_back(p.detach().clone());
  if (is_root_ && !config_.checkpoint_dir.empty()) {
    save_checkpoint((fs::path(config_.checkpoint_dir) / "best.pt").string(), *model_, nullptr,
                    state_, to_ini(config_), files_);
  }
}

void Trainer::save_step_checkpoint() {
  if (!is_root_ || config_.checkpoint_dir.empty()) return;
  const auto start = Clock::now();
  const std::string name = checkpoint_name(state_.step);
  save_checkpoint((fs::path(config_.checkpoint_dir) / name).string(), *model_, optimizer_.get(),
                  state_, to_ini(config_), files_);
  write_latest(config_.checkpoint_dir, name, files_);
  prune_checkpoints(config_.checkpoint_dir, config_.keep_checkpoints);
  spdlog::info("checkpoint {} written in {:.2f} s", name, seconds_since(start));
}

TrainResult Trainer::run() {
  TrainResult result;
  Progress progress(total_steps_, steps_per_epoch_, config_.batch_size, state_.step);
  const auto run_start = Clock::now();
  auto window_start = Clock::now();
  const int64_t first_step = state_.step;
  double excluded = 0.0;  // evaluation and checkpoint time, not training
  torch::Tensor tokens, labels;
  model_->train();
  while (!finished()) {
    next_batch(tokens, labels);
    const double loss = step_on(tokens, labels, config_.batch_size);
    advance_position();
    const bool end_of_epoch = state_.step_in_epoch == 0;
    DISTGRU_CHECK(std::isfinite(loss), "training diverged: loss is " + std::to_string(loss) +
                                           " at step " + std::to_string(state_.step));
    if (due(config_.log_every) || finished()) {
      const auto line = progress.update(state_.step, loss, seconds_since(window_start));
      progress.show(line);  // one updating line on a terminal, else a log line
      if (metrics_) {
        metrics_->append({{"step", state_.step}, {"epoch", state_.epoch + (state_.step_in_epoch > 0)},
                          {"loss", loss}, {"samples_per_sec", line.samples_per_second},
                          {"lr", last_lr_}, {"sync_seconds", sync_->last_seconds()}});
      }
      window_start = Clock::now();
    }
    // A live line ends before anything else logs, so log lines never land in it.
    if (finished() || due(config_.checkpoint_every) ||
        (config_.eval_every > 0 ? due(config_.eval_every) : end_of_epoch)) {
      progress.end_line();
    }
    const auto pause = Clock::now();
    if (config_.eval_every > 0 ? due(config_.eval_every) : end_of_epoch) validate();
    if (due(config_.checkpoint_every)) save_step_checkpoint();
    if (const int signal = agree_to_stop()) {
      const auto stop_start = Clock::now();
      if (!due(config_.checkpoint_every)) save_step_checkpoint();
      comm_.barrier();  // the checkpoint is safe before any rank exits
      spdlog::warn("stopped by signal {} at step {}; checkpoint safe {:.2f} s after the step ended",
                   signal, state_.step, seconds_since(stop_start));
      result.steps = state_.step - first_step;
      result.stop_signal = signal;
      return result;
    }
    const double paused = seconds_since(pause);
    excluded += paused;
    window_start += std::chrono::duration_cast<Clock::duration>(std::chrono::duration<double>(paused));
  }
  result.steps = state_.step - first_step;
  result.train_seconds = seconds_since(run_start) - excluded;
  result.samples_per_second =
      result.train_seconds > 0 ? result.steps * config_.batch_size / result.train_seconds : 0.0;
  // A final validation unless the last step just had one.
  if (validation_range_.size() > 0 && state_.best_step != state_.step &&
      !(config_.eval_every > 0 ? due(config_.eval_every) : state_.step_in_epoch == 0)) {
    validate();
  }
  if (!config_.checkpoint_dir.empty() && !due(config_.checkpoint_every)) save_step_checkpoint();
  result.best_validation = best_validation_;
  result.model_step = best_parameters_.empty() ? state_.step : state_.best_step;
  result.test = test_best_model();
  return result;
}

EvalResult Trainer::test_best_model() {
  if (!best_parameters_.empty()) {
    torch::NoGradGuard no_grad;
    auto params = model_->parameters();
    for (size_t i = 0; i < params.size(); ++i) params[i].copy_(best_parameters_[i]);
  }
  data::ShardedDataset test_set(config_.data_dir, "test", shard_meta(config_, "test"),
                                config_.verify_checksums);
  spdlog::info("scoring {} test reviews with the parameters of step {}", test_set.size(),
               best_parameters_.empty() ? state_.step : state_.best_step);
  auto r = evaluate(model_, comm_, test_set, {0, test_set.size()}, config_.eval_batch_size);
  if (is_root_ && !config_.checkpoint_dir.empty()) {
    auto record = eval_record(r, best_parameters_.empty() ? state_.step : state_.best_step, "test");
    if (metrics_) metrics_->append(record);
    write_file_atomic((fs::path(config_.checkpoint_dir) / "test_metrics.json").string(),
                      dump_json(record, 2) + "\n", files_);
  }
  return r;
}

}  // namespace distgru::train
