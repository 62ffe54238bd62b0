#pragma once
// The report's pictures as gnuplot scripts. Building a script is pure (the
// data travels inside it as datablocks, so one .gp file is the whole chart and
// can be rerun or edited by hand); run_gnuplot() is the only part that runs
// anything.

#include <string>
#include <vector>

#include "common/choice.h"
#include "report/roc.h"
#include "report/run_metrics.h"

namespace distgru::report {

enum class ImageFormat { kSvg, kPng };

// "svg" or "png": the file extension, and the value of distgru-report --format.
std::string extension(ImageFormat format);

struct ChartScript {
  std::string name;    // file stem: <name>.gp makes <name>.<ext>
  std::string image;   // the file the script writes, relative to its directory
  std::string script;  // the gnuplot program
};

// Training loss and samples/s against step, two panels of one picture.
ChartScript training_chart(const std::vector<StepRecord>& steps, ImageFormat format);
// Validation accuracy and AUC against step.
ChartScript validation_chart(const std::vector<EvalRecord>& validation, ImageFormat format);
// The ROC curve with its AUC and the chance diagonal.
ChartScript roc_chart(const std::vector<RocPoint>& points, double auc, ImageFormat format);
// The 2x2 confusion matrix: counts and shares of all reviews.
ChartScript confusion_chart(const EvalRecord& test, ImageFormat format);

// Writes <dir>/<name>.gp and runs gnuplot on it in `dir`; gnuplot's messages
// go to <dir>/<name>.log. Throws naming the script when gnuplot is missing,
// fails, or writes no image.
void run_gnuplot(const ChartScript& chart, const std::string& dir);

}  // namespace distgru::report

template <>
struct distgru::ChoiceNames<distgru::report::ImageFormat> {
  using E = report::ImageFormat;
  static constexpr std::array<std::pair<E, std::string_view>, 2> kValues{{{E::kSvg, "svg"}, {E::kPng, "png"}}};
};
