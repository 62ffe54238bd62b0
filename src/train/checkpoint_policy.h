#pragma once
// When a run writes which files, and where: the run directory's layout
// (ckpt-<step>.pt, LATEST, best.pt, metrics.jsonl, test_metrics.json), a
// checkpoint every K steps and at the end, the newest K kept, best.pt when
// validation improves. Rank 0 writes; the trainer decides nothing about files.
// Every write goes through one FileSystem (common/file_system.h), whole or
// not at all.

#include <torch/torch.h>

#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include "common/file_system.h"
#include "common/run_lock.h"
#include "distributed/communicator.h"
#include "train/checkpoint.h"

namespace distgru::train {

class CheckpointPolicy {
 public:
  // An empty `dir` writes nothing (enabled() is false): runs in tests and
  // benchmarks. `every` 0: only at the end.
  CheckpointPolicy(std::string dir, int64_t every, int64_t keep, FileSystem& files = FileSystem::local());

  bool enabled() const { return !dir_.empty(); }
  // The writer (rank 0) makes the directory, with its parents, before
  // anything is written.
  void create_dir() const;
  const std::string& dir() const { return dir_; }

  // A step checkpoint is due after this step (every K steps).
  bool due(int64_t step) const { return enabled() && every_ > 0 && step % every_ == 0; }
  // The run ends, or stops for a signal, after `step`: a checkpoint is still
  // needed unless one was just written.
  bool due_at_end(int64_t step) const { return enabled() && !due(step); }

  std::string path(const std::string& name) const;  // <dir>/<name>
  std::string metrics_path() const { return path("metrics.jsonl"); }
  // The test scoring's record (save_text), read by distgru-report.
  static constexpr const char* kTestMetricsName = "test_metrics.json";
  std::string test_metrics_path() const { return path(kTestMetricsName); }

  // Writes ckpt-<step>.pt (model, optimizer, state, config), points LATEST
  // at it and deletes all but the newest `keep` step checkpoints. Returns
  // the file written.
  // `weight_average`: --ema-decay's average, or empty.
  std::string save_step(torch::nn::Module& model, torch::optim::Optimizer& optimizer, const TrainState& state,
                        const std::string& config_ini, const std::vector<torch::Tensor>& weight_average = {});
  // Writes best.pt: the parameters, without optimizer state.
  void save_best(torch::nn::Module& model, const TrainState& state, const std::string& config_ini);
  // Writes <dir>/<name> whole (test_metrics.json).
  void save_text(const std::string& name, const std::string& text);

  // The newest step checkpoint that verifies (LATEST's first); each one
  // skipped is described in `skipped`. Empty when there is none.
  std::optional<std::string> find_resume(std::vector<std::string>* skipped) const;
  // best.pt when it exists and verifies.
  std::optional<std::string> usable_best() const;

 private:
  // Constant after construction.
  std::string dir_;
  int64_t every_;
  int64_t keep_;
  FileSystem& files_;
};

// collective: rank 0 takes the lock of run directory `dir` (creating it)
// before anything is written there (common/run_lock.h); when another live
// run holds it, every rank throws the same AgreedError naming the holder.
// Nothing for an empty `dir`; the lock is rank 0's.
std::optional<RunLock> lock_run_directory(const std::string& dir, dist::Communicator& comm, const std::string& run_id);

}  // namespace distgru::train
