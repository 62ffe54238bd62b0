#pragma once
// Which checkpoint a run continues from, and whether it may: a resumed run
// must train the same model on the same reviews, split and ordered the same
// way, or it silently becomes another run. Each check names every difference,
// checkpoint against now, and is the same on every rank (they read the same
// file), so a refusal ends the job cleanly (AgreedError).

#include <string>
#include <vector>

#include "distributed/communicator.h"
#include "train/checkpoint.h"
#include "train/checkpoint_policy.h"
#include "train/config.h"

namespace distgru::train {

// collective: the file --resume names, or for --resume auto the newest
// usable checkpoint of the run directory (rank 0 picks, skipping corrupted
// or diverged files with a warning each, and tells the others); "" when
// there is none yet (start from scratch) or --resume is not set.
std::string choose_resume_checkpoint(const TrainConfig& config, const CheckpointPolicy& checkpoints,
                                     dist::Communicator& comm);

// collective: throws AgreedError (kExitRefused) when the run directory
// holds files another run wrote, which this one would overwrite (best.pt,
// metrics.jsonl, test_metrics.json) or mistake for its own (checkpoints,
// which pruning keeps by step and --resume auto takes by step): for a run
// that starts afresh (`resumed_from` empty) or from a checkpoint outside
// the directory, any such file; for one resumed from a checkpoint of the
// directory at step `resumed_step`, a checkpoint of a later step (a future
// the run is abandoning). Rank 0 looks; every rank throws the same.
void check_run_directory(const CheckpointPolicy& checkpoints, const std::string& resumed_from, int64_t resumed_step,
                         dist::Communicator& comm);

// Throws AgreedError when the checkpoint at `path` (its stored config and
// state: `saved`) cannot be resumed with `now` on data whose fingerprints are
// in `fresh`:
//   - another model (vocab-size, hidden-size, ...): always;
//   - another vocabulary (its SHA-256): always;
//   - another data directory content, --seed or --val-fraction: unless
//     --allow-data-change.
void check_resume_allowed(const std::string& path, const CheckpointContents& saved, const TrainConfig& now,
                          const TrainState& fresh);

// best.pt's parameters on `device` when the run directory has a usable one,
// else none (the resumed run then tests with its final parameters).
std::vector<torch::Tensor> best_parameters(const CheckpointPolicy& checkpoints, const TrainConfig& config,
                                           torch::Device device);

// "resume: checkpoint written by 2 ranks, continuing on 3; written with global
// batch 128, continuing with 256; the rest of epoch 2 visits the samples not
// yet seen in it, in a new order" for a cursor moved to another segment.
std::string epoch_change_note(const data::EpochPosition& saved, int world_size, int64_t global_batch);

// What a resume changes that the user should hear about, one line each:
// --steps or --epochs changed under a decaying learning-rate schedule (the
// rest of the run follows another curve; both totals and the rate at this
// step), and a checkpoint already at or past the end of training.
// `total_steps_then` and `total_steps_now` are the run lengths in steps.
std::vector<std::string> resume_notes(const CheckpointContents& saved, const TrainConfig& now,
                                      int64_t total_steps_then, int64_t total_steps_now);

}  // namespace distgru::train
