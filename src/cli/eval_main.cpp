// distgru-eval: scores a checkpoint on a prepared split (optionally with
// several ranks under mpirun) and writes the metrics as JSON.
#include <chrono>
#include <cstdio>
#include <iostream>

#include "cli/mpi_main.h"
#include "common/file_system.h"
#include "data/manifest.h"
#include "train/rank_agreement.h"
#include "report/predictions_csv.h"
#include "train/config.h"
#include "train/evaluator.h"
#include "train/inference.h"
#include "train/metrics_log.h"
#include "train/runtime_options.h"

using namespace distgru;

namespace {

struct EvalConfig {
  std::string checkpoint, data_dir, split = "test", predictions, output;
  int64_t batch_size = train::kDefaultEvalBatchSize;
  bool verify_checksums = true;
  train::RuntimeOptions runtime;
};

std::optional<std::string> known_split(const std::string& split) {
  if (split == "test" || split == "train") return std::nullopt;
  return "must be test or train";
}

const OptionTable<EvalConfig>& eval_settings() {
  static const auto table = [] {
    using C = EvalConfig;
    const std::string group = "Options";
    OptionTable<C> t;
    t.add(group, "checkpoint", &C::checkpoint,
          "checkpoint file, a run directory (best.pt, else newest), or a model folder of distgru-export")
        .add(group, "data", &C::data_dir, "directory written by distgru-prepare", {}, kRankLocal)
        .add(group, "split", &C::split, "which split to score: test | train", SettingCheck<std::string>(known_split))
        .add(group, "predictions", &C::predictions, "write index,probability,label,prediction CSV here")
        .add(group, "output", &C::output, "write the metrics as JSON here (the layout of test_metrics.json)")
        .add(group, "batch-size", &C::batch_size, "per-rank batch", positive<int64_t>)
        .add(group, "verify-checksums", &C::verify_checksums, "check shards against manifest.json");
    train::add_runtime_settings(t, &C::runtime);
    return t;
  }();
  return table;
}

}  // namespace

int main(int argc, char** argv) {
  return cli::run_mpi_program(argc, argv, [](dist::MpiSession& session, int argc, char** argv) {
    const auto settings = cli::settings_or_help(session, [&] {
      return parse_settings(eval_settings(), argc, argv,
                            "Usage: distgru-eval --checkpoint <file or dir> --data <dir> [options]\n\n"
                            "Scores a checkpoint on a prepared split: accuracy, ROC AUC, loss, precision, recall, "
                            "F1 and\nthe confusion matrix, printed and (--output) as JSON.\n",
                            /*config_file=*/false);
    });
    if (!settings) return 0;
    const auto& config = *settings;
    if (config.checkpoint.empty() || config.data_dir.empty()) {
      throw cli::UsageError("--checkpoint and --data are required (see --help)");
    }
    auto comm = train::start_ranks(session, config.runtime, "distgru-eval");
    auto loaded = train::load_model(config.checkpoint, comm->device());
    // Every rank must score the same checkpoint on the same data.
    train::check_settings_agree(*comm,
                                train::with_data_fingerprint(eval_settings().to_ini(config, kRankLocal), config.data_dir) +
                                    "model = " + loaded.digest + "\n",
                                "distgru-eval");
    train::check_vocabulary(loaded, data::vocab_fingerprint(config.data_dir), config.data_dir + "/vocab.txt");
    data::ShardedDataset dataset(config.data_dir, config.split, train::shard_meta(loaded.config, config.split),
                                 config.verify_checksums);
    spdlog::info("scoring {} {} reviews with {} (step {})", dataset.size(), config.split, loaded.path,
                 loaded.state.step);
    const auto start = std::chrono::steady_clock::now();
    const auto r = train::evaluate(loaded.model, *comm, dataset, {0, dataset.size()}, config.batch_size);
    const double seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
    if (comm->rank() != 0) return 0;
    spdlog::info("scored at {:.0f} reviews/s", seconds > 0 ? r.samples / seconds : 0.0);

    auto record = train::record_of(r, loaded.state.step, config.split);
    record.checkpoint = loaded.path;
    std::printf("%s: %lld reviews  accuracy %.4f  auc %.4f  loss %.4f  precision %.4f  recall %.4f  f1 %.4f\n",
                config.split.c_str(), static_cast<long long>(r.samples), r.accuracy, r.auc, r.loss,
                record.precision(), record.recall(), record.f1());
    // The same 2x2 table people read in textbooks: rows the truth, columns the prediction.
    fmt::print("{:<17}{:>20}{:>20}\n{:<17}{:>20}{:>20}\n{:<17}{:>20}{:>20}\n", "confusion matrix",
               "predicted negative", "predicted positive", "  true negative", record.tn, record.fp,
               "  true positive", record.fn, record.tp);
    std::fflush(stdout);
    if (!config.output.empty()) {
      write_file_atomic(config.output, train::dump_json(report::to_json(record), 2) + "\n");
    }
    if (!config.predictions.empty()) {
      report::write_predictions_csv(config.predictions, {r.probabilities, r.labels});
    }
    return 0;
  });
}
