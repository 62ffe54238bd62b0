// distgru-report: turns a run's checkpoint directory (metrics.jsonl,
// test_metrics.json, best.pt) into pictures and an index page: training loss
// and samples/s, validation accuracy and AUC against step, the test ROC curve
// and confusion matrix. The ROC curve needs a score per test review; they come
// from --predictions, else <checkpoint-dir>/test_predictions.csv, else the
// report scores the test split itself with the run's best model (collective:
// it may run under mpirun like distgru-eval).
#include <boost/program_options.hpp>
#include <cmath>
#include <cstdio>
#include <filesystem>
#include <fstream>
#include <iostream>

#include "cli/mpi_main.h"
#include "distributed/factory.h"
#include "report/gnuplot_charts.h"
#include "report/predictions_csv.h"
#include "report/report_index.h"
#include "report/roc.h"
#include "report/run_metrics.h"
#include "common/file_system.h"
#include "train/evaluator.h"
#include "train/inference.h"
#include "runtime/process_settings.h"

namespace po = boost::program_options;
namespace fs = std::filesystem;
using namespace distgru;

namespace {

// Enough vertices for a smooth curve at any size the page shows.
constexpr size_t kRocPoints = 400;

// Scores the test split with the run's best model; every rank calls this.
report::ScoredReviews score_test_split(dist::MpiSession& session, const std::string& checkpoint_dir,
                                       std::string data_dir, int64_t batch_size, int64_t threads) {
  auto comm = dist::create_communicator(session, dist::Backend::kAuto, dist::kDefaultCollectiveTimeout);
  runtime::configure_threads(static_cast<int>(threads), comm->local_size());
  auto loaded = train::load_model(checkpoint_dir, comm->device());
  if (data_dir.empty()) data_dir = loaded.config.data_dir;
  DISTGRU_CHECK(fs::is_directory(data_dir),
                "test data '" + data_dir + "' (from " + loaded.path +
                    ") not found: pass --data <dir> or --predictions <csv from distgru-eval>");
  data::ShardedDataset dataset(data_dir, "test", train::shard_meta(loaded.config, "test"),
                               /*verify_checksums=*/true);
  spdlog::info("scoring {} test reviews of {} with {} for the ROC curve", dataset.size(), data_dir,
               loaded.path);
  auto r = train::evaluate(loaded.model, *comm, dataset, {0, dataset.size()}, batch_size);
  return {r.probabilities, r.labels};
}

std::string fixed(double v, int digits = 4) {
  return std::isfinite(v) ? fmt::format("{:.{}f}", v, digits) : "n/a";
}

}  // namespace

int main(int argc, char** argv) {
  return cli::run_mpi_program(argc, argv, [](dist::MpiSession& session, int argc, char** argv) {
    std::string dir, out, data_dir, predictions, format_name = "svg";
    int64_t batch_size = 256, threads = 0;
    po::options_description options(
        "Usage: distgru-report --checkpoint-dir <dir> [options]\n\n"
        "Draws a run's training curves, test ROC curve and confusion matrix (with gnuplot)\n"
        "and writes them with an index.html to --out.\nOptions");
    options.add_options()("help,h", "show this help")(
        "checkpoint-dir", po::value(&dir),
        "the run's directory (metrics.jsonl, test_metrics.json, best.pt)")(
        "out", po::value(&out), "where the pictures go (default: <checkpoint-dir>/report)")(
        "format", po::value(&format_name)->default_value(format_name), "svg | png")(
        "predictions", po::value(&predictions),
        "per-review test scores (CSV of distgru-eval --predictions); default: "
        "<checkpoint-dir>/test_predictions.csv when present, else the test split is scored")(
        "data", po::value(&data_dir),
        "test data to score (default: the data dir the run was trained on)")(
        "batch-size", po::value(&batch_size)->default_value(batch_size),
        "per-rank batch when scoring")("threads", po::value(&threads)->default_value(threads),
                                       "threads per rank (0: cores / ranks)");
    po::variables_map vm;
    report::ImageFormat format{};
    try {
      po::store(po::parse_command_line(argc, argv, options), vm);
      po::notify(vm);
      format = report::parse_image_format(format_name);
    } catch (const po::error& e) {
      throw cli::UsageError(std::string(e.what()) + " (see --help)");
    } catch (const Error& e) {
      throw cli::UsageError(std::string(e.what()) + " (see --help)");
    }
    if (vm.count("help")) {
      if (session.world_rank() == 0) std::cout << options << std::endl;
      return 0;
    }
    if (dir.empty()) throw cli::UsageError("--checkpoint-dir is required (see --help)");
    if (out.empty()) out = (fs::path(dir) / "report").string();
    const auto metrics_path = fs::path(dir) / "metrics.jsonl";
    if (!fs::is_regular_file(metrics_path))
      throw cli::UsageError(metrics_path.string() + ": not found");
    if (predictions.empty() && fs::is_regular_file(fs::path(dir) / "test_predictions.csv")) {
      predictions = (fs::path(dir) / "test_predictions.csv").string();
    }

    // Every rank takes the same branch: the decision rests on flags and files.
    report::ScoredReviews scored;
    if (!predictions.empty()) {
      if (session.world_rank() != 0) return 0;
      scored = report::read_predictions_csv(predictions);
    } else {
      scored = score_test_split(session, dir, data_dir, batch_size, threads);
      if (session.world_rank() != 0) return 0;
    }

    fs::create_directories(out);
    std::ifstream metrics_in(metrics_path);
    auto run = report::parse_metrics_jsonl(metrics_in, metrics_path.string());
    const auto test_path = fs::path(dir) / "test_metrics.json";
    if (fs::is_regular_file(test_path)) {
      run.test =
          report::parse_eval_record(read_file(test_path.string()), test_path.string());
    }
    if (!predictions.empty()) {
      spdlog::info("test scores from {}", predictions);
    } else {
      report::write_predictions_csv((fs::path(out) / "test_predictions.csv").string(), scored);
    }
    const auto roc = report::roc_points(scored.probabilities, scored.labels);
    const double auc = report::area_under(roc);
    if (run.test && std::isfinite(run.test->auc) && std::abs(run.test->auc - auc) > 1e-6) {
      spdlog::warn(
          "the ROC curve's AUC {:.6f} differs from test_metrics.json's {:.6f}: the scores are "
          "not those of the run's test evaluation",
          auc, run.test->auc);
    }

    std::vector<report::Figure> figures;
    const auto draw = [&](const report::ChartScript& chart, const std::string& caption) {
      report::run_gnuplot(chart, out);
      figures.push_back({chart.image, caption});
    };
    if (!run.steps.empty()) {
      draw(report::training_chart(run.steps, format),
           "Training loss (mean over the global batch) and throughput of all ranks together, every "
           "--log-every steps.");
    }
    if (!run.validation.empty()) {
      draw(report::validation_chart(run.validation, format),
           "Validation accuracy and ROC AUC at each evaluation.");
    }
    if (!roc.empty()) {
      draw(report::roc_chart(report::thin_points(roc, kRocPoints), auc, format),
           fmt::format("ROC curve of the test set ({} reviews): every threshold on P(positive).",
                       scored.labels.size()));
    }
    if (run.test) {
      draw(report::confusion_chart(*run.test, format),
           "Confusion matrix of the test set at threshold 0.5.");
    }

    std::vector<std::pair<std::string, std::string>> facts{{"checkpoint directory", dir}};
    if (!run.steps.empty()) {
      facts.emplace_back("steps trained", std::to_string(run.steps.back().step));
      facts.emplace_back("final training loss", fixed(run.steps.back().loss));
    }
    if (!run.validation.empty()) {
      const auto best =
          std::max_element(run.validation.begin(), run.validation.end(),
                           [](const auto& a, const auto& b) { return a.accuracy < b.accuracy; });
      facts.emplace_back("best validation accuracy",
                         fixed(best->accuracy) + " at step " + std::to_string(best->step));
    }
    if (run.test) {
      const auto& t = *run.test;
      const double precision = t.tp + t.fp > 0 ? double(t.tp) / double(t.tp + t.fp) : 0.0;
      const double recall = t.tp + t.fn > 0 ? double(t.tp) / double(t.tp + t.fn) : 0.0;
      facts.emplace_back("test model", "step " + std::to_string(t.step));
      facts.emplace_back("test accuracy", fixed(t.accuracy));
      facts.emplace_back("test ROC AUC", fixed(t.auc));
      facts.emplace_back("test loss", fixed(t.loss));
      facts.emplace_back("test precision / recall", fixed(precision) + " / " + fixed(recall));
    }
    const auto index = (fs::path(out) / "index.html").string();
    write_file_atomic(
        index, report::render_report_index("distgru training report", facts, figures));
    std::printf("wrote %s and %zu pictures\n", index.c_str(), figures.size());
    return 0;
  });
}
