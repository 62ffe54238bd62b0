#pragma once
// Checkpoints: model, optimiser state, training position, RNG state and the
// effective config. On disk: a 56-byte header (magic, format version, payload
// length, SHA-256 of the payload) then LibTorch's archive. A truncated or
// corrupted file is detected before anything is loaded.
//
// Writes are atomic (common/file_system.h), then the LATEST pointer moves the same
// way, so a crash at any point leaves the previous checkpoint whole and LATEST
// naming a whole file.

#include <torch/torch.h>

#include <cstdint>
#include <optional>
#include <string>
#include <utility>
#include <vector>

#include "common/file_system.h"
#include "data/epoch_cursor.h"
#include "train/checkpoint_file.h"

namespace distgru::train {

struct TrainState {
  int64_t step = 0;              // optimiser steps taken
  data::EpochPosition position;  // where the next batch comes from (data/epoch_cursor.h)
  double best_metric = 0.0;      // best validation score so far (higher is better)
  int64_t best_step = -1;        // step of best.pt, -1 when none yet
  // Validations since the last improvement (--early-stop-patience); 0 in
  // checkpoints of earlier versions.
  int64_t validations_since_best = 0;
  // A stop signal cut the validation due after `step` short: the resumed run
  // validates first.
  bool validation_pending = false;
  // What the run was trained on (data/manifest.h): the data directory's and
  // the vocabulary's SHA-256. Empty in checkpoints of earlier versions.
  std::string data_fingerprint;
  std::string vocab_fingerprint;
  // train/provenance.h, as JSON text: what built and ran the run that wrote it.
  std::string provenance;
  // best.pt holds the moving average of the weights (--ema-decay), which
  // validated better than the trained weights at best_step.
  bool best_averaged = false;
};

struct CheckpointContents {
  TrainState state;
  std::string config_ini;
  // The moving average of the weights (train/weight_ema.h), one tensor per
  // parameter in named_parameters() order; filled by load_checkpoint, empty
  // when the run kept none.
  std::vector<torch::Tensor> weight_average;
};

// Writes `path` atomically. `optimizer` may be null (inference-only files);
// `weight_average` (--ema-decay) is empty when the run keeps none. Throws,
// writing nothing, when a parameter is not finite.
void save_checkpoint(const std::string& path, torch::nn::Module& model,
                     torch::optim::Optimizer* optimizer, const TrainState& state,
                     const std::string& config_ini, FileSystem& files = FileSystem::local(),
                     const std::vector<torch::Tensor>& weight_average = {});

// Reads and verifies the file, returning config and state without a model.
CheckpointContents read_checkpoint_header(const std::string& path);

// Loads into an already-built model (and optimizer when non-null). Throws
// naming the parameter when a shape differs or a value is not finite.
CheckpointContents load_checkpoint(const std::string& path, torch::nn::Module& model,
                                   torch::optim::Optimizer* optimizer);

// Empty when the file is a whole, verified checkpoint whose parameters are all
// finite; else what is wrong.
std::optional<std::string> checkpoint_problem(const std::string& path);

// The SHA-256 of the checkpoint's payload, in hex, from its header: the same
// on every rank that reads the same checkpoint. Throws when unreadable.
std::string checkpoint_digest(const std::string& path);

// "parameter embedding.weight has 2000000 NaN or infinite values of
// 2000000 (and 4 more parameters have some)", or empty when every value of
// every parameter is finite. save_checkpoint refuses to write such a model,
// and load_checkpoint to load one.
std::optional<std::string> non_finite_parameters(torch::nn::Module& model);

// "ckpt-00001200.pt" for step 1200.
std::string checkpoint_name(int64_t step);

// Points <dir>/LATEST at `name` (a file in dir), atomically.
void write_latest(const std::string& dir, const std::string& name, FileSystem& files = FileSystem::local());

// The newest checkpoint in dir: LATEST when it names a readable file, else the
// highest-step ckpt-*.pt. Empty when the directory has none (an expected
// outcome, not an error). Does not verify contents.
std::optional<std::string> find_latest_checkpoint(const std::string& dir);

// The newest checkpoint that verifies: LATEST's file first, then older
// ckpt-*.pt, newest first. Each one skipped is reported in `skipped` as
// "<path>: <problem>". Empty when none is usable.
std::optional<std::string> find_usable_checkpoint(const std::string& dir,
                                                  std::vector<std::string>* skipped);

// A file path, or a directory whose best.pt (preferred) or newest checkpoint
// is meant. Throws when nothing is found.
std::string resolve_checkpoint(const std::string& path_or_dir);

// The steps of dir's ckpt-*.pt files, ascending; empty when there are none
// or dir does not exist.
std::vector<int64_t> checkpoint_steps(const std::string& dir);

// Deletes all but the newest `keep` ckpt-*.pt files in dir.
void prune_checkpoints(const std::string& dir, int64_t keep);

}  // namespace distgru::train
