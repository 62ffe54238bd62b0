#pragma once
// Checkpoints: model, optimiser state, training position, RNG state and the
// effective config, in LibTorch's archive format. Writes are atomic in the
// manner of LevelDB's SetCurrentFile: write "<name>.tmp", fsync, rename, fsync
// the directory, then move the LATEST pointer the same way. A crash at any
// point leaves the previous checkpoint whole and LATEST naming a whole file.

#include <torch/torch.h>

#include <cstdint>
#include <optional>
#include <string>
#include <vector>

namespace distgru::train {

constexpr int64_t kCheckpointFormat = 1;

struct TrainState {
  int64_t step = 0;            // optimiser steps taken
  int64_t epoch = 0;           // epoch of the next step
  int64_t step_in_epoch = 0;   // position of the next step inside its epoch
  int64_t world_size = 1;      // ranks that wrote it (data order depends on it)
  double best_metric = 0.0;    // best validation score so far (see select_metric)
  int64_t best_step = -1;      // step of best.pt, -1 when none yet
};

struct CheckpointContents {
  TrainState state;
  std::string config_ini;
};

// Writes `path` atomically. `optimizer` may be null (inference-only files).
void save_checkpoint(const std::string& path, torch::nn::Module& model,
                     torch::optim::Optimizer* optimizer, const TrainState& state,
                     const std::string& config_ini);

// Reads only the config and state, without touching a model.
CheckpointContents read_checkpoint_header(const std::string& path);

// Loads into an already-built model (and optimizer when non-null).
CheckpointContents load_checkpoint(const std::string& path, torch::nn::Module& model,
                                   torch::optim::Optimizer* optimizer);

// "ckpt-00001200.pt" for step 1200.
std::string checkpoint_name(int64_t step);

// Points <dir>/LATEST at `name` (a file in dir), atomically.
void write_latest(const std::string& dir, const std::string& name);

// The newest checkpoint in dir: LATEST when it names a readable file, else the
// highest-step ckpt-*.pt. Empty when the directory has none (an expected
// outcome, not an error).
std::optional<std::string> find_latest_checkpoint(const std::string& dir);

// A file path, or a directory whose best.pt (preferred) or newest checkpoint
// is meant. Throws when nothing is found.
std::string resolve_checkpoint(const std::string& path_or_dir);

// Deletes all but the newest `keep` ckpt-*.pt files in dir.
void prune_checkpoints(const std::string& dir, int64_t keep);

// Writes `contents` to `path` atomically (tmp + fsync + rename + dir fsync).
void write_file_atomic(const std::string& path, const std::string& contents);

}  // namespace distgru::train
