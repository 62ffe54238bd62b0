// distgru-report: turns a run's checkpoint directory (metrics.jsonl,
// test_metrics.json, best.pt) into pictures and an index page: training loss
// and samples/s, validation accuracy and AUC against step, the test ROC curve
// and confusion matrix. The ROC curve needs a score per test review; they come
// from --predictions, else <checkpoint-dir>/test_predictions.csv, else the
// report scores the test split itself with the run's best model (collective:
// it may run under mpirun like distgru-eval). A run traced with --trace-steps
// adds its step timeline (trace.json) as a Gantt chart.
#include <cmath>
#include <cstdio>
#include <filesystem>
#include <fstream>
#include <iostream>

#include "cli/mpi_main.h"
#include "common/file_system.h"
#include "data/manifest.h"
#include "report/gnuplot_charts.h"
#include "report/predictions_csv.h"
#include "report/report_index.h"
#include "report/roc.h"
#include "report/step_timeline.h"
#include "report/run_metrics.h"
#include "train/config.h"
#include "train/evaluator.h"
#include "train/inference.h"
#include "train/rank_agreement.h"
#include "train/runtime_options.h"

namespace fs = std::filesystem;

namespace distgru::report {
DISTGRU_CHOICE_OPTION(ImageFormat)
}  // namespace distgru::report
using namespace distgru;

namespace {

// Enough vertices for a smooth curve at any size the page shows.
constexpr size_t kRocPoints = 400;

struct ReportConfig {
  std::string dir, out, data_dir, predictions;
  report::ImageFormat format = report::ImageFormat::kSvg;
  int64_t batch_size = train::kDefaultEvalBatchSize;
  train::RuntimeOptions runtime;
};

const OptionTable<ReportConfig>& report_settings() {
  static const auto table = [] {
    using C = ReportConfig;
    const std::string group = "Options";
    OptionTable<C> t;
    t.add(group, "checkpoint-dir", &C::dir, "the run's directory (metrics.jsonl, test_metrics.json, best.pt)")
        .add(group, "out", &C::out, "where the pictures go (default: <checkpoint-dir>/report)")
        .add(group, "format", &C::format, choice_list<report::ImageFormat>(" | ", " | "))
        .add(group, "predictions", &C::predictions,
             "per-review test scores (CSV of distgru-eval --predictions); default: "
             "<checkpoint-dir>/test_predictions.csv when present, else the test split is scored")
        .add(group, "data", &C::data_dir, "test data to score (default: the data dir the run was trained on)", {},
             kRankLocal)
        .add(group, "batch-size", &C::batch_size, "per-rank batch when scoring", positive<int64_t>);
    train::add_runtime_settings(t, &C::runtime);
    return t;
  }();
  return table;
}

// Scores the test split with the run's best model; every rank calls this.
report::ScoredReviews score_test_split(dist::MpiSession& session, const ReportConfig& config) {
  auto comm = train::start_ranks(session, config.runtime, "distgru-report");
  auto loaded = train::load_model(config.dir, comm->device());
  const std::string data_dir = config.data_dir.empty() ? loaded.config.data_dir : config.data_dir;
  // Every rank must score the same checkpoint on the same data.
  train::check_settings_agree(*comm,
                              train::with_data_fingerprint(report_settings().to_ini(config, kRankLocal), data_dir) +
                                  "model = " + loaded.digest + "\n",
                              "distgru-report");
  DISTGRU_CHECK(fs::is_directory(data_dir),
                "test data '" + data_dir + "' (from " + loaded.path +
                    ") not found: pass --data <dir> or --predictions <csv from distgru-eval>");
  train::check_vocabulary(loaded, data::vocab_fingerprint(data_dir), data_dir + "/vocab.txt");
  data::ShardedDataset dataset(data_dir, "test", train::shard_meta(loaded.config, "test"),
                               /*verify_checksums=*/true);
  spdlog::info("scoring {} test reviews of {} with {} for the ROC curve", dataset.size(), data_dir, loaded.path);
  if (!loaded.config.score_test && comm->rank() == 0) {
    spdlog::warn("{} was trained with --score-test false (a tuning run): this report reads its test scores, so "
                 "list them among the test figures read; settings are chosen on validation, not on these",
                 loaded.path);
  }
  auto r = train::evaluate(loaded.model, *comm, dataset, {0, dataset.size()}, config.batch_size);
  return {r.probabilities, r.labels};
}

std::string fixed(double v, int digits = 4) {
  return std::isfinite(v) ? fmt::format("{:.{}f}", v, digits) : "n/a";
}

}  // namespace

int main(int argc, char** argv) {
  return cli::run_mpi_program(argc, argv, [](dist::MpiSession& session, int argc, char** argv) {
    const auto settings = cli::settings_or_help(session, [&] {
      return parse_settings(report_settings(), argc, argv,
                            "Usage: distgru-report --checkpoint-dir <dir> [options]\n\n"
                            "Draws a run's training curves, test ROC curve and confusion matrix (with gnuplot)\n"
                            "and writes them with an index.html to --out.\n",
                            /*config_file=*/false);
    });
    if (!settings) return 0;
    auto config = *settings;
    const std::string& dir = config.dir;
    if (dir.empty()) throw cli::UsageError("--checkpoint-dir is required (see --help)");
    if (config.out.empty()) config.out = (fs::path(dir) / "report").string();
    const std::string out = config.out;
    const auto format = config.format;
    const auto metrics_path = fs::path(dir) / "metrics.jsonl";
    if (!fs::is_regular_file(metrics_path)) throw cli::UsageError(metrics_path.string() + ": not found");
    if (config.predictions.empty() && fs::is_regular_file(fs::path(dir) / "test_predictions.csv")) {
      config.predictions = (fs::path(dir) / "test_predictions.csv").string();
    }
    const std::string predictions = config.predictions;

    // Every rank takes the same branch: the decision rests on flags and files.
    report::ScoredReviews scored;
    if (!predictions.empty()) {
      if (session.world_rank() != 0) return 0;
      scored = report::read_predictions_csv(predictions);
    } else {
      scored = score_test_split(session, config);
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
    const auto trace_path = fs::path(dir) / "trace.json";
    if (fs::exists(trace_path)) {
      const auto spans = report::parse_chrome_trace(read_file(trace_path.string()), trace_path.string());
      if (!spans.empty()) {
        draw(report::timeline_chart(spans, format),
             "Step timeline of the traced steps (--trace-steps, trace.json): each rank's main thread "
             "and its communication thread, where each gradient bucket's allreduce overlaps the "
             "backward pass. Open trace.json in ui.perfetto.dev for the details.");
      }
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
      facts.emplace_back("test model", "step " + std::to_string(t.step));
      facts.emplace_back("test accuracy", fixed(t.accuracy));
      facts.emplace_back("test ROC AUC", fixed(t.auc));
      facts.emplace_back("test loss", fixed(t.loss));
      facts.emplace_back("test precision / recall", fixed(t.precision()) + " / " + fixed(t.recall()));
    }
    const auto index = (fs::path(out) / "index.html").string();
    write_file_atomic(
        index, report::render_report_index("distgru training report", facts, figures));
    std::printf("wrote %s and %zu pictures\n", index.c_str(), figures.size());
    return 0;
  });
}
