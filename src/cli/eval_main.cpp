// distgru-eval: scores a checkpoint on a prepared split (optionally with
// several ranks under mpirun) and writes the metrics as JSON.
#include <boost/program_options.hpp>

#include <chrono>
#include <cstdio>
#include <iostream>

#include "cli/mpi_main.h"
#include "distributed/factory.h"
#include "report/predictions_csv.h"
#include "train/evaluator.h"
#include "train/inference.h"
#include "common/file_system.h"
#include "train/metrics_log.h"
#include "runtime/process_settings.h"

namespace po = boost::program_options;
using namespace distgru;

int main(int argc, char** argv) {
  return cli::run_mpi_program(argc, argv, [](dist::MpiSession& session, int argc, char** argv) {
    std::string checkpoint, data_dir, split = "test", predictions, output, backend = "auto";
    int64_t batch_size = 256, threads = 0;
    bool verify = true;
    po::options_description options(
        "Usage: distgru-eval --checkpoint <file or dir> --data <dir> [options]\n\n"
        "Scores a checkpoint on a prepared split: accuracy, ROC AUC, loss, precision, recall, F1 and\n"
        "the confusion matrix, printed and (--output) as JSON.\n"
        "Options");
    options.add_options()("help,h", "show this help")
        ("checkpoint", po::value(&checkpoint), "checkpoint file, or a directory (best.pt, else newest)")
        ("data", po::value(&data_dir), "directory written by distgru-prepare")
        ("split", po::value(&split)->default_value(split), "which split to score: test | train")
        ("predictions", po::value(&predictions), "write index,probability,label,prediction CSV here")
        ("output", po::value(&output), "write the metrics as JSON here")
        ("batch-size", po::value(&batch_size)->default_value(batch_size), "per-rank batch")
        ("verify-checksums", po::value(&verify)->default_value(verify), "check shards against manifest.json")
        ("backend", po::value(&backend)->default_value(backend), "auto | mpi | nccl")
        ("threads", po::value(&threads)->default_value(threads), "threads per rank (0: cores / ranks)");
    po::variables_map vm;
    try {
      po::store(po::parse_command_line(argc, argv, options), vm);
      po::notify(vm);
    } catch (const po::error& e) {
      throw cli::UsageError(std::string(e.what()) + " (see --help)");
    }
    if (vm.count("help")) {
      if (session.world_rank() == 0) std::cout << options << std::endl;
      return 0;
    }
    if (checkpoint.empty() || data_dir.empty()) throw cli::UsageError("--checkpoint and --data are required (see --help)");

    auto comm = dist::create_communicator(session, parse_choice<dist::Backend>(backend, "--backend"), dist::kDefaultCollectiveTimeout);
    runtime::configure_threads(static_cast<int>(threads), comm->local_size());
    auto loaded = train::load_model(checkpoint, comm->device());
    data::ShardedDataset dataset(data_dir, split, train::shard_meta(loaded.config, split), verify);
    spdlog::info("scoring {} {} reviews with {} (step {})", dataset.size(), split, loaded.path,
                 loaded.state.step);
    const auto start = std::chrono::steady_clock::now();
    auto r = train::evaluate(loaded.model, *comm, dataset, {0, dataset.size()}, batch_size);
    const double seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
    if (comm->rank() != 0) return 0;

    const auto& c = r.confusion;
    const double precision = c.tp + c.fp > 0 ? double(c.tp) / double(c.tp + c.fp) : 0.0;
    const double recall = c.tp + c.fn > 0 ? double(c.tp) / double(c.tp + c.fn) : 0.0;
    const double f1 = precision + recall > 0 ? 2 * precision * recall / (precision + recall) : 0.0;
    nlohmann::json j = {{"checkpoint", loaded.path}, {"step", loaded.state.step}, {"split", split},
                        {"samples", r.samples}, {"accuracy", r.accuracy}, {"auc", r.auc},
                        {"loss", r.loss}, {"precision", precision}, {"recall", recall}, {"f1", f1},
                        {"confusion", {{"tp", c.tp}, {"fp", c.fp}, {"tn", c.tn}, {"fn", c.fn}}},
                        {"samples_per_sec", seconds > 0 ? r.samples / seconds : 0.0}};
    std::printf("%s: %lld reviews  accuracy %.4f  auc %.4f  loss %.4f  precision %.4f  recall %.4f  f1 %.4f\n",
                split.c_str(), static_cast<long long>(r.samples), r.accuracy, r.auc, r.loss, precision,
                recall, f1);
    // The same 2x2 table people read in textbooks: rows the truth, columns the prediction.
    fmt::print("{:<17}{:>20}{:>20}\n{:<17}{:>20}{:>20}\n{:<17}{:>20}{:>20}\n", "confusion matrix",
               "predicted negative", "predicted positive", "  true negative", c.tn, c.fp, "  true positive",
               c.fn, c.tp);
    std::fflush(stdout);
    if (!output.empty()) write_file_atomic(output, train::dump_json(j, 2) + "\n");
    if (!predictions.empty()) report::write_predictions_csv(predictions, {r.probabilities, r.labels});
    return 0;
  });
}
