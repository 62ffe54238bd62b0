#include "train/config.h"

#include <mutex>

#include "common/error.h"
#include "common/log.h"
#include "model/fast_gru.h"
#include "data/manifest.h"
#include "train/step_trace.h"

namespace distgru::train {
namespace {

OptionTable<TrainConfig> make_table() {
  using C = TrainConfig;
  const std::string data = "Data and output", model = "Model", optim = "Optimisation",
                    sched = "Schedule", runtime = "Runtime";
  OptionTable<C> t;
  // The data directory may sit at another path on each node: its contents
  // are compared instead (settings_agreement_text); only rank 0 reads --glove.
  t.add(data, "data", &C::data_dir, "directory written by distgru-prepare", {}, kRankLocal)
      .add(data, "checkpoint-dir", &C::checkpoint_dir, "checkpoints, metrics.jsonl and evaluation results")
      .add(data, "glove", &C::glove,
           "word vectors to initialise the embedding: a GloVe text file or a fastText .vec; 'data': the data "
           "directory's word_vectors.vec (data/pretrain_vectors.sh, checked against its SHA-256); 'none' or "
           "empty: random", {},
           kRankLocal)
      .add(data, "verify-checksums", &C::verify_checksums, "check shards against manifest.json")
      .add(data, "score-test", &C::score_test,
           "score the test set with the best parameters when training ends (false for tuning runs: settings "
           "are chosen on validation, and no test figure is printed or written; an earlier test_metrics.json "
           "in the directory is left as it was, and distgru-report still scores the test set for its ROC "
           "curve)");
  t.add(model, "vocab-size", &C::vocab_size, "vocabulary size (must match the data)", positive<int64_t>, kModelShape)
      .add(model, "sentence-size", &C::sentence_size, "tokens per review (must match the data)", positive<int64_t>, kModelShape)
      .add(model, "embed-dim", &C::embed_dim, "embedding size", positive<int64_t>, kModelShape)
      .add(model, "hidden-size", &C::hidden_size, "GRU units per direction", positive<int64_t>, kModelShape)
      .add(model, "attention-size", &C::attention_size, "hidden width of the attention MLP", positive<int64_t>, kModelShape)
      .add(model, "mask-padding", &C::mask_padding, "exclude padding from the attention softmax", {}, kModelShape);
  t.add(optim, "batch-size", &C::batch_size, "GLOBAL batch size, split across ranks", positive<int64_t>)
      .add(optim, "lr", &C::learning_rate, "Adam learning rate", positive<double>)
      .add(optim, "lr-schedule", &C::lr_schedule,
           "learning rate over the run: " + choice_list<LrSchedule>(" | ", " | ") +
               " (decay to --lr-final-fraction x --lr at the last step)")
      .add(optim, "warmup-steps", &C::warmup_steps, "linear warm-up of the learning rate over the first steps",
           non_negative<int64_t>)
      .add(optim, "lr-final-fraction", &C::lr_final_fraction,
           "learning rate at the last step, as a share of --lr (linear and cosine)", in_range(0, 1, true))
      .add(optim, "clip-grad-norm", &C::clip_grad_norm, "clip the global gradient norm (0: off)", non_negative<double>)
      .add(optim, "weight-decay", &C::weight_decay,
           "decoupled weight decay (AdamW): each step the weight matrices shrink by lr x this; biases and the "
           "embedding are not decayed (0: plain Adam)",
           non_negative<double>)
      .add(optim, "ema-decay", &C::ema_decay,
           "keep an exponential moving average of the weights with this decay (0.999: over about 1000 steps; "
           "warmed up as TensorFlow's ExponentialMovingAverage), validate it beside the trained weights and "
           "let best.pt and the test scoring take whichever validates better (0: none)",
           in_range(0, 1, false))
      .add(optim, "epochs", &C::epochs, "epochs over the training split", non_negative<int64_t>)
      .add(optim, "steps", &C::steps, "total steps; > 0 overrides --epochs", non_negative<int64_t>)
      .add(optim, "seed", &C::seed, "seed for initialisation and data order", {}, kSplitOrOrder)
      .add(optim, "val-fraction", &C::val_fraction, "share of the training reviews held out for validation",
           in_range(0, 1, false), kSplitOrOrder)
      .add(optim, "select-metric", &C::select_metric,
           "validation metric that picks best.pt: " + choice_list<SelectMetric>(" | ", " | "))
      .add(optim, "early-stop-patience", &C::early_stop_patience,
           "stop training after this many validations in a row without improving --select-metric, then score "
           "the test set with the best parameters (0: never)",
           non_negative<int64_t>);
  const std::string reg = "Regularisation (while training; none at evaluation)";
  t.add(reg, "dropout-word", &C::dropout_word,
        "share of words whose whole embedding vector is zeroed (word dropout, SpatialDropout1D)", in_range(0, 1, false))
      .add(reg, "dropout-embedding", &C::dropout_embedding, "dropout on each component of the embedded words",
           in_range(0, 1, false))
      .add(reg, "dropout-encoder", &C::dropout_encoder, "dropout on the GRU's outputs before attention",
           in_range(0, 1, false))
      .add(reg, "dropout-output", &C::dropout_output, "dropout on the attended context before the output layer",
           in_range(0, 1, false))
      .add(reg, "adversarial-epsilon", &C::adversarial_epsilon,
           "adversarial training (Miyato et al., ICLR 2017): each step also trains on every review with its "
           "embedded words moved by this L2 norm in the direction that raises its loss most (0: off; about "
           "twice the step's work)",
           non_negative<double>);
  t.add(sched, "log-every", &C::log_every, "log progress every L steps", positive<int64_t>)
      .add(sched, "eval-every", &C::eval_every, "validate every M steps (0: every epoch)", non_negative<int64_t>)
      .add(sched, "checkpoint-every", &C::checkpoint_every, "checkpoint every K steps (0: only at the end)",
           non_negative<int64_t>)
      .add(sched, "keep-checkpoints", &C::keep_checkpoints, "how many step checkpoints to keep", positive<int64_t>)
      .add(sched, "resume", &C::resume, "'auto' (newest in --checkpoint-dir) or a checkpoint path")
      .add(sched, "allow-data-change", &C::allow_data_change,
           "resume even when the data, --seed or --val-fraction differ from the checkpoint's (refused "
           "otherwise: it would turn trained-on reviews into validation reviews or reorder the epoch)")
      .add(sched, "eval-batch-size", &C::eval_batch_size, "per-rank batch for evaluation", positive<int64_t>)
      .add(sched, "trace-steps", &C::trace_steps,
           "A:B writes a timeline of steps A to B on every rank to <checkpoint-dir>/trace.json (Chrome "
           "trace: ui.perfetto.dev, chrome://tracing; distgru-report draws it)",
           SettingCheck<std::string>([](const std::string& v) -> std::optional<std::string> {
             try {
               StepTrace::parse_range(v);
             } catch (const Error&) {
               return "must be A:B with 1 <= A <= B";
             }
             return std::nullopt;
           }))
      .add(sched, "tensorboard", &C::tensorboard,
           "write TensorBoard event files under <checkpoint-dir>/tb (tensorboard --logdir <checkpoint-dir>/tb)")
      .add(sched, "sample-log", &C::sample_log,
           "every rank appends the training rows of each step to <checkpoint-dir>/samples/<run>-rank<R>.txt, to "
           "audit the data order across resumes, restarts and world sizes (train/sample_log.h)");
  add_runtime_settings(t, &C::runtime);
  t.add(runtime, "bucket-mb", &C::bucket_mb,
           "gradient bucket size in MB, filled from the output layer back (0: one fused buffer)",
           non_negative<double>)
      .add(runtime, "overlap-sync", &C::overlap_sync,
           "allreduce gradient buckets while backward runs (1) or after it (0)")
      .add(runtime, "sparse-embedding", &C::sparse_embedding,
           "sync the embedding's gradient as the rows the global batch touched (their ids and rows gathered "
           "from every rank and summed, as PyTorch's sparse embedding gradients) instead of allreducing all "
           "its rows; same update up to the order of float additions")
      .add(runtime, "bf16-allreduce", &C::bf16_allreduce,
           "allreduce the dense gradient buckets in bfloat16, half the bytes on the wire (Horovod's "
           "--fp16-allreduce, DDP's bf16_compress_hook): each element and partial sum rounded to 8 significant "
           "bits; the sparse embedding rows stay float")
      .add(runtime, "precision", &C::precision,
           "the CPU GRU's matrix products: fp32, or bf16 (bfloat16 operands, float32 accumulation, on "
           "AVX512_BF16 or AMX through oneDNN; states, gates, loss, allreduce and Adam stay float32). Where the "
           "CPU has neither, bf16 runs fp32 with a warning. CUDA runs fp32")
      .add(runtime, "deterministic", &C::deterministic,
           "CUDA: deterministic kernels only (cuDNN's deterministic algorithms, no cuDNN benchmark, "
           "CUBLAS_WORKSPACE_CONFIG=:4096:8, LibTorch's deterministic algorithms: an operation without one "
           "fails, naming itself), so two runs give the same per-step losses. CPU runs are deterministic for "
           "a given thread count without it");
  return t;
}

// Checks that involve more than one setting.
void check_combinations(const TrainConfig& c) {
  DISTGRU_CHECK(c.epochs > 0 || c.steps > 0, "--epochs or --steps must be positive");
}

}  // namespace

const OptionTable<TrainConfig>& train_settings() {
  static const auto table = make_table();
  return table;
}

ParsedArgs parse_train_args(int argc, const char* const* argv) {
  auto parsed = parse_settings(train_settings(), argc, argv,
                               "Usage: mpirun -np N distgru-train --config FILE.ini --data DIR --checkpoint-dir DIR "
                               "[options]\n\nTrains the bidirectional-GRU + attention classifier with data-parallel "
                               "ranks.\nCommand-line values override the config file.\n",
                               /*config_file=*/true);
  if (parsed.config) check_combinations(*parsed.config);
  return {std::move(parsed.config), std::move(parsed.help)};
}

std::string to_ini(const TrainConfig& config) { return train_settings().to_ini(config); }

std::string with_data_fingerprint(std::string settings, const std::string& data_dir) {
  std::string fingerprint;
  try {
    fingerprint = data::data_fingerprint(data_dir);
  } catch (const Error& e) {
    // The same text on every rank that cannot read it: the data's own
    // check then refuses the run with the reason, not as ranks that differ.
    fingerprint = "unreadable (" + without_process_label(e.what()) + ")";
  }
  return settings + "data fingerprint = " + fingerprint + "\n";
}

std::string settings_agreement_text(const TrainConfig& config) {
  return with_data_fingerprint(train_settings().to_ini(config, kRankLocal), config.data_dir);
}

TrainConfig config_from_ini(const std::string& ini, const std::string& origin) {
  return train_settings().from_ini(ini, origin + ": stored config");
}

model::ModelConfig model_config(const TrainConfig& c) {
  model::ModelConfig m;
  m.vocab_size = c.vocab_size;
  m.embed_dim = c.embed_dim;
  m.hidden_size = c.hidden_size;
  m.attention_size = c.attention_size;
  m.mask_padding = c.mask_padding;
  m.dropout = {c.dropout_embedding, c.dropout_word, c.dropout_encoder, c.dropout_output};
  std::string fallback;
  m.precision = model::effective_precision(c.precision, &fallback);
  static std::once_flag logged;  // once per process, not per model built
  std::call_once(logged, [&] {
    if (!fallback.empty()) {
      spdlog::warn("--precision bf16: {}", fallback);
    } else if (m.precision == model::Precision::kBFloat16) {
      spdlog::info("--precision bf16: {}", model::fast_gru_summary(m.precision));
    }
  });
  return m;
}

data::ShardMeta shard_meta(const TrainConfig& c, const std::string& split) {
  data::ShardMeta m;
  m.split = split;
  m.vocab_size = static_cast<int32_t>(c.vocab_size);
  m.sentence_size = static_cast<int32_t>(c.sentence_size);
  return m;
}

std::string model_differences(const TrainConfig& a, const TrainConfig& b) {
  return describe_differences(train_settings().differences(a, b, kModelShape));
}

}  // namespace distgru::train
