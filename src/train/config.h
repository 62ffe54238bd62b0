#pragma once
// Every training setting, from the command line and/or an INI config file
// (Boost.Program_options). Command-line values override the file. The
// effective config is printed at start and stored in every checkpoint as INI
// text, so a checkpoint alone can rebuild its model.
//
// The settings are one table (train_settings(), common/option_table.h): the
// flags, the config file keys, --help, the stored INI, the value checks and
// the list of settings that define the model are all generated from it.

#include <cstdint>
#include <optional>
#include <string>

#include "common/option_table.h"
#include "data/shard.h"
#include "distributed/communicator.h"
#include "distributed/factory.h"
#include "model/attention_gru.h"
#include "train/best_model.h"
#include "train/lr_schedule.h"
#include "train/runtime_options.h"

// Program_options reads these enums straight into their fields.
namespace distgru::train {
DISTGRU_CHOICE_OPTION(LrSchedule)
DISTGRU_CHOICE_OPTION(SelectMetric)
}  // namespace distgru::train
namespace distgru::model {
DISTGRU_CHOICE_OPTION(Precision)
}  // namespace distgru::model

namespace distgru::train {

// Defaults, each with its reason. The model's and the data's sizes are the
// tutorial's (model/attention_gru.h, data/vocabulary.h).
constexpr int64_t kDefaultGlobalBatch = 128;    // the tutorial's batch
constexpr double kDefaultLearningRate = 1e-3;   // Adam's usual rate; the tutorial's 0.01 diverges more often
constexpr double kDefaultClipGradNorm = 5.0;    // keeps the GRU's rare exploding gradients from derailing a step
constexpr int64_t kDefaultEpochs = 3;           // validation accuracy stops rising after 3-4 epochs
constexpr uint64_t kDefaultSeed = 42;
constexpr double kDefaultValFraction = 0.1;     // 2,500 of the 25,000 training reviews
constexpr int64_t kDefaultLogEvery = 20;        // a line every few seconds at full size
constexpr int64_t kDefaultCheckpointEvery = 200;  // about a minute of training lost at most
constexpr int64_t kDefaultKeepCheckpoints = 3;  // a corrupted newest one still leaves two to fall back to
constexpr int64_t kDefaultEvalBatchSize = 256;  // per rank; scoring keeps no activations for backward
constexpr double kDefaultBucketMb = 1.0;        // splits the 9 MB of gradients into the small layers and the embedding

struct TrainConfig {
  // Data and output.
  std::string data_dir;                  // output of distgru-prepare
  std::string checkpoint_dir;            // checkpoints, metrics.jsonl, eval JSON
  std::string glove;                     // optional GloVe text file for the embedding
  bool verify_checksums = true;          // compare shards with manifest.json
  bool score_test = true;                // score the test set at the end (off for tuning runs)

  // Model.
  int64_t vocab_size = data::kDefaultVocabSize;
  int64_t sentence_size = data::kDefaultSentenceSize;
  int64_t embed_dim = model::kDefaultEmbedDim;
  int64_t hidden_size = model::kDefaultHiddenSize;
  int64_t attention_size = model::kDefaultAttentionSize;
  bool mask_padding = true;

  // Optimisation.
  int64_t batch_size = kDefaultGlobalBatch;  // GLOBAL batch, split across ranks
  double learning_rate = kDefaultLearningRate;
  LrSchedule lr_schedule = LrSchedule::kConstant;
  int64_t warmup_steps = 0;              // linear warm-up before the schedule
  double lr_final_fraction = 0.0;        // where linear/cosine end, as a share of --lr
  double clip_grad_norm = kDefaultClipGradNorm;  // 0 disables clipping
  double weight_decay = 0.0;             // AdamW's decoupled decay of the weight matrices (train_step.h)
  double ema_decay = 0.0;                // moving average of the weights, validated beside them (weight_ema.h); 0: none

  // Regularisation: dropout rates while training (model/dropout.h).
  double dropout_embedding = 0.0;
  double dropout_word = 0.0;
  double dropout_encoder = 0.0;
  double dropout_output = 0.0;
  double adversarial_epsilon = 0.0;     // adversarial training on the embedded words (train_step.h); 0: off

  int64_t epochs = kDefaultEpochs;
  int64_t steps = 0;                     // > 0 overrides epochs
  uint64_t seed = kDefaultSeed;
  double val_fraction = kDefaultValFraction;  // tail of the training split held out
  SelectMetric select_metric = SelectMetric::kAccuracy;
  int64_t early_stop_patience = 0;       // stop after this many validations without improvement (0: never)

  // Schedule.
  int64_t log_every = kDefaultLogEvery;
  int64_t eval_every = 0;                // 0: at the end of every epoch
  int64_t checkpoint_every = kDefaultCheckpointEvery;
  int64_t keep_checkpoints = kDefaultKeepCheckpoints;
  std::string resume;                    // "", "auto" or a checkpoint path
  bool allow_data_change = false;        // resume even if the data, seed or validation split changed
  int64_t eval_batch_size = kDefaultEvalBatchSize;
  bool tensorboard = true;               // event files under <checkpoint-dir>/tb
  std::string trace_steps;               // "A:B": a Chrome trace of those steps (train/step_trace.h)
  bool sample_log = false;               // each rank's rows per step under <checkpoint-dir>/samples (sample_log.h)

  // Runtime.
  RuntimeOptions runtime;                // backend, threads, collective timeout (runtime_options.h)
  double bucket_mb = kDefaultBucketMb;
  bool overlap_sync = true;              // reduce buckets during backward
  bool sparse_embedding = false;         // sync the embedding's gradient as the rows the batch touched
  bool bf16_allreduce = false;           // the dense gradient buckets travel as bfloat16
  model::Precision precision = model::Precision::kFloat32;  // the fast GRU's products (model/precision.h)
  bool deterministic = false;            // CUDA: deterministic kernels only (runtime/determinism.h)
};

// The table every view of the settings is generated from.
const OptionTable<TrainConfig>& train_settings();

struct ParsedArgs {
  std::optional<TrainConfig> config;  // empty when --help was asked for
  std::string help;
};

// Throws distgru::Error on an unknown flag, a bad value (naming the key, the
// value and the file it came from), or an unreadable config file.
ParsedArgs parse_train_args(int argc, const char* const* argv);

// "key = value" lines, one per setting, readable by config_from_ini.
std::string to_ini(const TrainConfig& config);

// What must be the same on every rank (rank_agreement.h): the settings but
// the rank-local ones (threads, and paths only one rank or each node reads),
// with the fingerprint of the data directory's contents.
std::string settings_agreement_text(const TrainConfig& config);
// `settings` followed by the line "data fingerprint = <SHA-256 of
// data_dir/manifest.json>" (or why it could not be read).
std::string with_data_fingerprint(std::string settings, const std::string& data_dir);
// Throws distgru::Error naming `origin` on an unknown key or a bad value.
TrainConfig config_from_ini(const std::string& ini, const std::string& origin);

model::ModelConfig model_config(const TrainConfig& config);

// What the shards of `split` must say about themselves to fit this config
// (vocab_size, sentence_size and the fixed token ids), for ShardedDataset.
data::ShardMeta shard_meta(const TrainConfig& config, const std::string& split);

// The settings that define the model and its inputs and differ between a and
// b, as "hidden-size 128 vs 64, vocab-size 20000 vs 5000"; empty when none.
std::string model_differences(const TrainConfig& a, const TrainConfig& b);

}  // namespace distgru::train
