#pragma once
// Every training setting, from the command line and/or an INI config file
// (Boost.Program_options). Command-line values override the file. The
// effective config is printed at start and stored in every checkpoint as INI
// text, so a checkpoint alone can rebuild its model.

#include <cstdint>
#include <optional>
#include <string>

#include "data/shard.h"
#include "model/attention_gru.h"

namespace distgru::train {

struct TrainConfig {
  // Data and output.
  std::string data_dir;                  // output of distgru-prepare
  std::string checkpoint_dir;            // checkpoints, metrics.jsonl, eval JSON
  std::string glove;                     // optional GloVe text file for the embedding
  bool verify_checksums = true;          // compare shards with manifest.json

  // Model (the tutorial's sizes).
  int64_t vocab_size = 20000;
  int64_t sentence_size = 256;
  int64_t embed_dim = 100;
  int64_t hidden_size = 128;
  int64_t attention_size = 32;
  bool mask_padding = true;

  // Optimisation.
  int64_t batch_size = 128;              // GLOBAL batch, split across ranks
  double learning_rate = 1e-3;           // Adam; the tutorial's 0.01 diverges more often
  std::string lr_schedule = "constant";  // constant | linear | cosine (train/lr_schedule.h)
  int64_t warmup_steps = 0;              // linear warm-up before the schedule
  double lr_final_fraction = 0.0;        // where linear/cosine end, as a share of --lr
  double clip_grad_norm = 5.0;           // 0 disables clipping
  int64_t epochs = 3;
  int64_t steps = 0;                     // > 0 overrides epochs
  uint64_t seed = 42;
  double val_fraction = 0.1;             // tail of the training split held out
  std::string select_metric = "accuracy";  // how the best checkpoint is chosen

  // Schedule.
  int64_t log_every = 20;
  int64_t eval_every = 0;                // 0: at the end of every epoch
  int64_t checkpoint_every = 200;
  int64_t keep_checkpoints = 3;
  std::string resume;                    // "", "auto" or a checkpoint path
  int64_t eval_batch_size = 256;         // per rank

  // Runtime.
  std::string backend = "auto";          // auto | mpi | nccl
  int64_t threads = 0;                   // per rank; 0: cores / ranks on this host
  int64_t collective_timeout = 300;      // seconds before a stuck NCCL call aborts
  double bucket_mb = 1.0;                // gradient bucket size (dist/bucket_plan.h)
  bool overlap_sync = true;              // reduce buckets during backward where the backend allows
};

struct ParsedArgs {
  std::optional<TrainConfig> config;  // empty when --help was asked for
  std::string help;
};

// Throws distgru::Error on an unknown flag, a bad value, or an unreadable
// config file (naming it).
ParsedArgs parse_train_args(int argc, const char* const* argv);

// "key = value" lines, one per setting, readable by config_from_ini.
std::string to_ini(const TrainConfig& config);
TrainConfig config_from_ini(const std::string& ini, const std::string& origin);

model::ModelConfig model_config(const TrainConfig& config);

// What the shards of `split` must say about themselves to fit this config
// (vocab_size, sentence_size and the fixed token ids), for ShardedDataset.
data::ShardMeta shard_meta(const TrainConfig& config, const std::string& split);

// The settings that define the model and its inputs and differ between a and
// b, as "hidden-size 128 vs 64, vocab-size 20000 vs 5000"; empty when none.
std::string model_differences(const TrainConfig& a, const TrainConfig& b);

}  // namespace distgru::train
