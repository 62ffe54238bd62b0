#include "train/config.h"

#include <boost/program_options.hpp>

#include <fstream>
#include <sstream>

#include "common/error.h"
#include "train/lr_schedule.h"

namespace po = boost::program_options;

namespace distgru::train {
namespace {

// One table of options serves the command line, config files and the INI
// stored in checkpoints, so the three can never disagree.
po::options_description settings(TrainConfig& c) {
  po::options_description data("Data and output");
  data.add_options()
      ("data", po::value(&c.data_dir)->default_value(c.data_dir), "directory written by distgru-prepare")
      ("checkpoint-dir", po::value(&c.checkpoint_dir)->default_value(c.checkpoint_dir), "checkpoints, metrics.jsonl and evaluation results")
      ("glove", po::value(&c.glove)->default_value(c.glove), "GloVe text file to initialise the embedding (optional)")
      ("verify-checksums", po::value(&c.verify_checksums)->default_value(c.verify_checksums), "check shards against manifest.json");
  po::options_description model("Model");
  model.add_options()
      ("vocab-size", po::value(&c.vocab_size)->default_value(c.vocab_size), "vocabulary size (must match the data)")
      ("sentence-size", po::value(&c.sentence_size)->default_value(c.sentence_size), "tokens per review (must match the data)")
      ("embed-dim", po::value(&c.embed_dim)->default_value(c.embed_dim), "embedding size")
      ("hidden-size", po::value(&c.hidden_size)->default_value(c.hidden_size), "GRU units per direction")
      ("attention-size", po::value(&c.attention_size)->default_value(c.attention_size), "hidden width of the attention MLP")
      ("mask-padding", po::value(&c.mask_padding)->default_value(c.mask_padding), "exclude padding from the attention softmax");
  po::options_description optim("Optimisation");
  optim.add_options()
      ("batch-size", po::value(&c.batch_size)->default_value(c.batch_size), "GLOBAL batch size, split across ranks")
      ("lr", po::value(&c.learning_rate)->default_value(c.learning_rate), "Adam learning rate")
      ("lr-schedule", po::value(&c.lr_schedule)->default_value(c.lr_schedule), "learning rate over the run: constant | linear | cosine (decay to --lr-final-fraction x --lr at the last step)")
      ("warmup-steps", po::value(&c.warmup_steps)->default_value(c.warmup_steps), "linear warm-up of the learning rate over the first steps")
      ("lr-final-fraction", po::value(&c.lr_final_fraction)->default_value(c.lr_final_fraction), "learning rate at the last step, as a share of --lr (linear and cosine)")
      ("clip-grad-norm", po::value(&c.clip_grad_norm)->default_value(c.clip_grad_norm), "clip the global gradient norm (0: off)")
      ("epochs", po::value(&c.epochs)->default_value(c.epochs), "epochs over the training split")
      ("steps", po::value(&c.steps)->default_value(c.steps), "total steps; > 0 overrides --epochs")
      ("seed", po::value(&c.seed)->default_value(c.seed), "seed for initialisation and data order")
      ("val-fraction", po::value(&c.val_fraction)->default_value(c.val_fraction), "share of the training reviews held out for validation")
      ("select-metric", po::value(&c.select_metric)->default_value(c.select_metric), "validation metric that picks best.pt: accuracy | auc | loss");
  po::options_description sched("Schedule");
  sched.add_options()
      ("log-every", po::value(&c.log_every)->default_value(c.log_every), "log progress every L steps")
      ("eval-every", po::value(&c.eval_every)->default_value(c.eval_every), "validate every M steps (0: every epoch)")
      ("checkpoint-every", po::value(&c.checkpoint_every)->default_value(c.checkpoint_every), "checkpoint every K steps (0: only at the end)")
      ("keep-checkpoints", po::value(&c.keep_checkpoints)->default_value(c.keep_checkpoints), "how many step checkpoints to keep")
      ("resume", po::value(&c.resume)->default_value(c.resume), "'auto' (newest in --checkpoint-dir) or a checkpoint path")
      ("eval-batch-size", po::value(&c.eval_batch_size)->default_value(c.eval_batch_size), "per-rank batch for evaluation");
  po::options_description runtime("Runtime");
  runtime.add_options()
      ("backend", po::value(&c.backend)->default_value(c.backend), "auto | mpi | nccl")
      ("threads", po::value(&c.threads)->default_value(c.threads), "threads per rank (0: cores on this host / ranks on this host)")
      ("collective-timeout", po::value(&c.collective_timeout)->default_value(c.collective_timeout), "seconds before a stuck NCCL collective aborts the job")
      ("bucket-mb", po::value(&c.bucket_mb)->default_value(c.bucket_mb), "gradient bucket size in MB, filled from the output layer back (0: one fused buffer)")
      ("overlap-sync", po::value(&c.overlap_sync)->default_value(c.overlap_sync), "allreduce gradient buckets on a communication thread while backward runs");
  po::options_description all;
  all.add(data).add(model).add(optim).add(sched).add(runtime);
  return all;
}

void validate(const TrainConfig& c) {
  DISTGRU_CHECK(c.batch_size > 0, "--batch-size must be positive");
  DISTGRU_CHECK(c.learning_rate > 0, "--lr must be positive");
  parse_lr_schedule(c.lr_schedule);  // throws, naming the choices
  DISTGRU_CHECK(c.warmup_steps >= 0, "--warmup-steps must not be negative");
  DISTGRU_CHECK(c.lr_final_fraction >= 0 && c.lr_final_fraction <= 1, "--lr-final-fraction must be in [0, 1]");
  DISTGRU_CHECK(c.epochs > 0 || c.steps > 0, "--epochs or --steps must be positive");
  DISTGRU_CHECK(c.val_fraction >= 0 && c.val_fraction < 1, "--val-fraction must be in [0, 1)");
  DISTGRU_CHECK(c.bucket_mb >= 0, "--bucket-mb must not be negative");
  DISTGRU_CHECK(c.log_every > 0, "--log-every must be positive");
  DISTGRU_CHECK(c.keep_checkpoints > 0, "--keep-checkpoints must be positive");
  DISTGRU_CHECK(c.select_metric == "accuracy" || c.select_metric == "auc" || c.select_metric == "loss",
                "--select-metric must be accuracy, auc or loss");
  DISTGRU_CHECK(c.backend == "auto" || c.backend == "mpi" || c.backend == "nccl",
                "--backend must be auto, mpi or nccl");
}

}  // namespace

ParsedArgs parse_train_args(int argc, const char* const* argv) {
  TrainConfig config;
  auto options = settings(config);
  std::string config_file;
  po::options_description generic("General");
  generic.add_options()("help,h", "show this help")(
      "config", po::value(&config_file), "INI file with any of the settings below");
  po::options_description cmdline;
  cmdline.add(generic).add(options);

  ParsedArgs result;
  po::variables_map vm;
  try {
    po::store(po::parse_command_line(argc, argv, cmdline), vm);
    if (vm.count("help")) {
      std::ostringstream out;
      out << "Usage: mpirun -np N distgru-train --config FILE.ini --data DIR --checkpoint-dir DIR "
             "[options]\n\nTrains the bidirectional-GRU + attention classifier with data-parallel "
             "ranks.\nCommand-line values override the config file.\n"
          << cmdline;
      result.help = out.str();
      return result;
    }
    if (vm.count("config")) {
      config_file = vm["config"].as<std::string>();
      std::ifstream in(config_file);
      DISTGRU_CHECK(in.good(), config_file + ": cannot open config file");
      try {
        po::store(po::parse_config_file(in, options), vm);  // first store wins: cmdline
      } catch (const po::error& e) {
        DISTGRU_FAIL(config_file + ": " + e.what());
      }
    }
    po::notify(vm);
  } catch (const po::error& e) {
    DISTGRU_FAIL(std::string(e.what()) + " (see --help)");
  }
  validate(config);
  result.config = config;
  return result;
}

std::string to_ini(const TrainConfig& c) {
  std::ostringstream out;
  out.precision(17);
  out << "data = " << c.data_dir << "\n"
      << "checkpoint-dir = " << c.checkpoint_dir << "\n"
      << "glove = " << c.glove << "\n"
      << "verify-checksums = " << c.verify_checksums << "\n"
      << "vocab-size = " << c.vocab_size << "\n"
      << "sentence-size = " << c.sentence_size << "\n"
      << "embed-dim = " << c.embed_dim << "\n"
      << "hidden-size = " << c.hidden_size << "\n"
      << "attention-size = " << c.attention_size << "\n"
      << "mask-padding = " << c.mask_padding << "\n"
      << "batch-size = " << c.batch_size << "\n"
      << "lr = " << c.learning_rate << "\n"
      << "lr-schedule = " << c.lr_schedule << "\n"
      << "warmup-steps = " << c.warmup_steps << "\n"
      << "lr-final-fraction = " << c.lr_final_fraction << "\n"
      << "clip-grad-norm = " << c.clip_grad_norm << "\n"
      << "epochs = " << c.epochs << "\n"
      << "steps = " << c.steps << "\n"
      << "seed = " << c.seed << "\n"
      << "val-fraction = " << c.val_fraction << "\n"
      << "select-metric = " << c.select_metric << "\n"
      << "log-every = " << c.log_every << "\n"
      << "eval-every = " << c.eval_every << "\n"
      << "checkpoint-every = " << c.checkpoint_every << "\n"
      << "keep-checkpoints = " << c.keep_checkpoints << "\n"
      << "resume = " << c.resume << "\n"
      << "eval-batch-size = " << c.eval_batch_size << "\n"
      << "backend = " << c.backend << "\n"
      << "threads = " << c.threads << "\n"
      << "collective-timeout = " << c.collective_timeout << "\n"
      << "bucket-mb = " << c.bucket_mb << "\n"
      << "overlap-sync = " << c.overlap_sync << "\n";
  return out.str();
}

TrainConfig config_from_ini(const std::string& ini, const std::string& origin) {
  TrainConfig config;
  auto options = settings(config);
  po::variables_map vm;
  std::istringstream in(ini);
  try {
    po::store(po::parse_config_file(in, options), vm);
    po::notify(vm);
  } catch (const po::error& e) {
    DISTGRU_FAIL(origin + ": stored config: " + e.what());
  }
  return config;
}

model::ModelConfig model_config(const TrainConfig& c) {
  model::ModelConfig m;
  m.vocab_size = c.vocab_size;
  m.embed_dim = c.embed_dim;
  m.hidden_size = c.hidden_size;
  m.attention_size = c.attention_size;
  m.mask_padding = c.mask_padding;
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
  std::string out;
  auto differ = [&](const char* name, auto x, auto y) {
    if (x == y) return;
    if (!out.empty()) out += ", ";
    out += std::string(name) + " " + std::to_string(x) + " vs " + std::to_string(y);
  };
  differ("vocab-size", a.vocab_size, b.vocab_size);
  differ("sentence-size", a.sentence_size, b.sentence_size);
  differ("embed-dim", a.embed_dim, b.embed_dim);
  differ("hidden-size", a.hidden_size, b.hidden_size);
  differ("attention-size", a.attention_size, b.attention_size);
  differ("mask-padding", a.mask_padding, b.mask_padding);
  return out;
}

}  // namespace distgru::train
