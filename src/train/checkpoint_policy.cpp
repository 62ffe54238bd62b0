#include "train/checkpoint_policy.h"

#include <filesystem>

#include "common/error.h"
#include "train/rank_agreement.h"

namespace distgru::train {

namespace fs = std::filesystem;

std::optional<RunLock> lock_run_directory(const std::string& dir, dist::Communicator& comm, const std::string& run_id) {
  if (dir.empty()) return std::nullopt;
  std::optional<RunLock> lock;
  std::string refusal;
  if (comm.rank() == 0) {
    std::filesystem::create_directories(dir);
    std::string holder;
    lock = RunLock::acquire(dir, describe_this_process(run_id), &holder);
    if (!lock) {
      refusal = dir + " is in use by another run (" + holder +
                "): two runs in one directory would mix their checkpoints, best.pt and metrics. Give this run "
                "its own --checkpoint-dir, or wait for that one to end";
    }
  }
  agree_on_root_refusal(comm, refusal);
  return lock;
}


CheckpointPolicy::CheckpointPolicy(std::string dir, int64_t every, int64_t keep, FileSystem& files)
    : dir_(std::move(dir)), every_(every), keep_(keep), files_(files) {}

void CheckpointPolicy::create_dir() const {
  if (enabled()) fs::create_directories(dir_);
}

std::string CheckpointPolicy::path(const std::string& name) const { return (fs::path(dir_) / name).string(); }

std::string CheckpointPolicy::save_step(torch::nn::Module& model, torch::optim::Optimizer& optimizer,
                                        const TrainState& state, const std::string& config_ini,
                                        const std::vector<torch::Tensor>& weight_average) {
  const std::string name = checkpoint_name(state.step);
  save_checkpoint(path(name), model, &optimizer, state, config_ini, files_, weight_average);
  write_latest(dir_, name, files_);
  prune_checkpoints(dir_, keep_);
  return path(name);
}

void CheckpointPolicy::save_best(torch::nn::Module& model, const TrainState& state, const std::string& config_ini) {
  save_checkpoint(path("best.pt"), model, nullptr, state, config_ini, files_);
}

void CheckpointPolicy::save_text(const std::string& name, const std::string& text) {
  write_file_atomic(path(name), text, files_);
}

std::optional<std::string> CheckpointPolicy::find_resume(std::vector<std::string>* skipped) const {
  return find_usable_checkpoint(dir_, skipped);
}

std::optional<std::string> CheckpointPolicy::usable_best() const {
  const auto best = path("best.pt");
  if (!fs::is_regular_file(best) || checkpoint_problem(best)) return std::nullopt;
  return best;
}

}  // namespace distgru::train
