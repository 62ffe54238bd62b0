#include "train/resume.h"

#include <filesystem>

#include "common/error.h"
#include "common/log.h"
#include "distributed/tensor_collectives.h"
#include "train/lr_schedule.h"
#include "train/rank_agreement.h"

namespace distgru::train {
namespace {

std::string short_hash(const std::string& sha) { return sha.empty() ? "(not recorded)" : sha.substr(0, 12) + "…"; }

}  // namespace

std::string choose_resume_checkpoint(const TrainConfig& config, const CheckpointPolicy& checkpoints,
                                     dist::Communicator& comm) {
  if (config.resume.empty()) return "";
  if (config.resume != "auto") return config.resume;
  if (!checkpoints.enabled()) throw AgreedError("--resume auto needs --checkpoint-dir", kExitRefused);
  std::string path;
  if (comm.rank() == 0) {
    std::vector<std::string> skipped;
    path = checkpoints.find_resume(&skipped).value_or("");
    for (const auto& s : skipped) spdlog::warn("resume: skipping unusable checkpoint {}", s);
    if (!skipped.empty() && !path.empty()) spdlog::warn("resume: falling back to {}", path);
  }
  path = dist::broadcast_string(comm, path, 0);
  if (path.empty()) {
    spdlog::info("resume: no usable checkpoint in {} yet, starting from scratch", config.checkpoint_dir);
  }
  return path;
}

namespace {

std::string list(const std::vector<std::string>& names) {
  std::string out;
  for (size_t i = 0; i < names.size() && i < 4; ++i) out += (i ? ", " : "") + names[i];
  if (names.size() > 4) out += fmt::format(" and {} more", names.size() - 4);
  return out;
}

bool inside(const std::string& file, const std::string& dir) {
  std::error_code ec;
  const auto parent = std::filesystem::weakly_canonical(std::filesystem::path(file).parent_path(), ec);
  return !ec && parent == std::filesystem::weakly_canonical(dir, ec);
}

}  // namespace

void check_run_directory(const CheckpointPolicy& checkpoints, const std::string& resumed_from, int64_t resumed_step,
                         dist::Communicator& comm) {
  if (!checkpoints.enabled()) return;
  std::string refusal;
  if (comm.rank() == 0) {
    const std::string& dir = checkpoints.dir();
    const bool continuing = !resumed_from.empty() && inside(resumed_from, dir);
    std::vector<std::string> found;
    for (const int64_t step : checkpoint_steps(dir)) {
      if (!continuing || step > resumed_step) found.push_back(checkpoint_name(step));
    }
    if (!continuing) {
      for (const char* name : {"LATEST", "best.pt", "metrics.jsonl", CheckpointPolicy::kTestMetricsName}) {
        if (std::filesystem::exists(checkpoints.path(name))) found.push_back(name);
      }
    }
    if (!found.empty() && continuing) {
      refusal = fmt::format("{} holds checkpoints past step {}, where this run resumes ({}): they belong to the "
                            "future this run abandons, and --resume auto and the pruning of old checkpoints would "
                            "take them for this run's. Move them out of the directory, or resume into another "
                            "--checkpoint-dir",
                            dir, resumed_step, list(found));
    } else if (!found.empty()) {
      refusal = fmt::format("{} already holds a run ({}): a new run there would overwrite its best.pt and "
                            "metrics, and the pruning of old checkpoints would delete this run's own in favour of "
                            "that one's. Pass --resume auto to continue that run, or give this one its own "
                            "--checkpoint-dir",
                            dir, list(found));
    }
  }
  agree_on_root_refusal(comm, refusal);
}

void check_resume_allowed(const std::string& path, const CheckpointContents& saved, const TrainConfig& now,
                          const TrainState& fresh) {
  const auto then = config_from_ini(saved.config_ini, path);
  const auto model = model_differences(then, now);
  if (!model.empty()) {
    throw AgreedError(path + ": checkpoint was written for another model, refusing to resume (checkpoint vs config): " +
                          model,
                      kExitRefused);
  }
  const auto& old_vocab = saved.state.vocab_fingerprint;
  if (!old_vocab.empty() && old_vocab != fresh.vocab_fingerprint) {
    throw AgreedError(path + ": the model was trained with the vocabulary " + short_hash(old_vocab) + " but " +
                          now.data_dir + "/vocab.txt is " + short_hash(fresh.vocab_fingerprint) +
                          ": its word ids mean other words, or it cuts long reviews another way (the truncate= "
                          "field of vocab.txt's header), refusing to resume (prepare the data with the run's "
                          "vocabulary and --truncate, or start a new run)",
                      kExitRefused);
  }
  auto changes = describe_differences(train_settings().differences(then, now, kSplitOrOrder));
  const auto& old_data = saved.state.data_fingerprint;
  if (!old_data.empty() && old_data != fresh.data_fingerprint) {
    changes += std::string(changes.empty() ? "" : ", ") + "data " + short_hash(old_data) + " (" + then.data_dir +
               ") vs " + short_hash(fresh.data_fingerprint) + " (" + now.data_dir + ")";
  }
  if (changes.empty()) return;
  if (now.allow_data_change) {
    spdlog::warn("resume: the data split or order changed (checkpoint vs now): {}; going on as "
                 "--allow-data-change asks",
                 changes);
    return;
  }
  throw AgreedError(path + ": refusing to resume with another data split or order (checkpoint vs now): " + changes +
                        ". Resuming would turn reviews the model trained on into validation reviews, or visit "
                        "the rest of the epoch in another order; pass --allow-data-change 1 to resume anyway",
                    kExitRefused);
}

std::vector<torch::Tensor> best_parameters(const CheckpointPolicy& checkpoints, const TrainConfig& config,
                                           torch::Device device) {
  std::vector<torch::Tensor> best;
  if (auto path = checkpoints.usable_best()) {
    model::AttentionGRU copy(model_config(config));
    load_checkpoint(*path, *copy, nullptr);
    for (auto& p : copy->parameters()) best.push_back(p.detach().to(device));
  }
  return best;
}

std::string epoch_change_note(const data::EpochPosition& saved, int world_size, int64_t global_batch) {
  std::string change;
  if (saved.world_size != world_size) {
    change = fmt::format("written by {} ranks, continuing on {}", saved.world_size, world_size);
  }
  if (saved.global_batch != global_batch) {
    change += fmt::format("{}written with global batch {}, continuing with {}", change.empty() ? "" : "; ",
                          saved.global_batch, global_batch);
  }
  return fmt::format("resume: checkpoint {}; the rest of epoch {} visits the samples not yet seen in it, in a new "
                     "order",
                     change, saved.epoch + 1);
}

std::vector<std::string> resume_notes(const CheckpointContents& saved, const TrainConfig& now,
                                      int64_t total_steps_then, int64_t total_steps_now) {
  std::vector<std::string> notes;
  const int64_t step = saved.state.step;
  if (step >= total_steps_now) {
    notes.push_back("resume: the checkpoint is at step " + std::to_string(step) + ", already at or past the end (" +
                    std::to_string(total_steps_now) + " steps): nothing is left to train; the best model is "
                    "validated and tested");
  }
  if (total_steps_then != total_steps_now && now.lr_schedule != LrSchedule::kConstant && step < total_steps_now) {
    const double lr_then = learning_rate_at(now.lr_schedule, now.learning_rate, step, total_steps_then,
                                            now.warmup_steps, now.lr_final_fraction);
    const double lr_now = learning_rate_at(now.lr_schedule, now.learning_rate, step, total_steps_now,
                                           now.warmup_steps, now.lr_final_fraction);
    notes.push_back(fmt::format("resume: the run now lasts {} steps instead of {} under the {} learning-rate "
                                "schedule, so the rest of it follows another curve: the rate at step {} is {:.3g} "
                                "(it was heading for {:.3g})",
                                total_steps_now, total_steps_then, choice_name(now.lr_schedule), step, lr_now,
                                lr_then));
  }
  return notes;
}

}  // namespace distgru::train
