#include "report/gnuplot_charts.h"

#include <fmt/format.h>

#include <algorithm>
#include <cmath>
#include <cstdlib>
#include <filesystem>
#include <fstream>

#include "common/error.h"

namespace distgru::report {
namespace {

// One look for every chart: DejaVu ships with Debian's fonts-dejavu-core;
// colours from the Okabe-Ito palette, distinguishable with colour blindness.
constexpr const char* kBlue = "#0072B2";
constexpr const char* kOrange = "#D55E00";
constexpr const char* kGreen = "#009E73";

std::string header(const std::string& image, ImageFormat format, int width, int height) {
  const std::string terminal =
      format == ImageFormat::kSvg
          ? fmt::format(
                "set terminal svg size {},{} dynamic font 'DejaVu Sans,13' background '#ffffff'",
                width, height)
          : fmt::format(
                "set terminal pngcairo size {},{} font 'DejaVu Sans,12' background '#ffffff'",
                width, height);
  return fmt::format(
      "# Made by distgru-report; rerun with: gnuplot <this file>\n{}\nset output '{}'\n"
      "set grid lc rgb '#dddddd'\nset border lc rgb '#444444'\nset key outside top center "
      "horizontal\n",
      terminal, image);
}

// NaN (an AUC with one class present) as gnuplot's missing value.
std::string number(double v) { return std::isfinite(v) ? fmt::format("{:.9g}", v) : "NaN"; }

ChartScript make(const std::string& name, ImageFormat format) {
  ChartScript c;
  c.name = name;
  c.image = name + "." + extension(format);
  return c;
}

}  // namespace

std::string extension(ImageFormat format) { return choice_name(format); }

ChartScript training_chart(const std::vector<StepRecord>& steps, ImageFormat format) {
  auto c = make("training", format);
  std::string data = "$steps << EOD\n";
  for (const auto& s : steps)
    data += fmt::format("{} {} {}\n", s.step, number(s.loss), number(s.samples_per_sec));
  data += "EOD\n";
  c.script = header(c.image, format, 900, 640) + data +
             "set multiplot layout 2,1 title 'Training' font ',15'\n"
             "set ylabel 'loss (cross-entropy)'\nunset xlabel\nset format x ''\n"
             "set yrange [0:*]\n"
             "plot $steps using 1:2 with lines lw 2 lc rgb '" +
             kBlue +
             "' title 'training loss'\n"
             "set xlabel 'step'\nset format x '%g'\nset ylabel 'samples / s'\nset yrange [0:*]\n"
             "plot $steps using 1:3 with lines lw 2 lc rgb '" +
             kOrange +
             "' title 'throughput (all ranks)'\n"
             "unset multiplot\n";
  return c;
}

ChartScript validation_chart(const std::vector<EvalRecord>& validation, ImageFormat format) {
  auto c = make("validation", format);
  std::string data = "$val << EOD\n";
  for (const auto& v : validation)
    data += fmt::format("{} {} {}\n", v.step, number(v.accuracy), number(v.auc));
  data += "EOD\n";
  c.script = header(c.image, format, 900, 480) + data +
             "set title 'Validation' font ',15'\nset xlabel 'step'\nset ylabel 'score'\n"
             "set yrange [*:1]\nset key inside bottom right vertical box opaque\n"
             "plot $val using 1:2 with linespoints lw 2 pt 7 ps 0.8 lc rgb '" +
             kBlue +
             "' title 'accuracy', \\\n"
             "     $val using 1:3 with linespoints lw 2 pt 5 ps 0.8 lc rgb '" +
             kGreen + "' title 'ROC AUC'\n";
  return c;
}

ChartScript roc_chart(const std::vector<RocPoint>& points, double auc, ImageFormat format) {
  auto c = make("roc", format);
  std::string data = "$roc << EOD\n";
  for (const auto& p : points) data += fmt::format("{} {}\n", number(p.fpr), number(p.tpr));
  data += "EOD\n";
  c.script = header(c.image, format, 620, 620) + data +
             fmt::format("set title 'ROC curve of the test set (AUC {:.4f})' font ',15'\n", auc) +
             "set size ratio -1\nset xrange [0:1]\nset yrange [0:1]\n"
             "set xlabel 'false positive rate'\nset ylabel 'true positive rate'\n"
             "set key inside bottom right vertical box opaque\n"
             "plot $roc using 1:2 with lines lw 2.5 lc rgb '" +
             kBlue +
             "' title 'model', \\\n"
             "     x with lines dt 2 lw 1.5 lc rgb '#777777' title 'chance'\n";
  return c;
}

ChartScript confusion_chart(const EvalRecord& test, ImageFormat format) {
  auto c = make("confusion", format);
  const double total = static_cast<double>(test.tp + test.fp + test.tn + test.fn);
  const double biggest =
      static_cast<double>(std::max({test.tp, test.fp, test.tn, test.fn, int64_t{1}}));
  // Columns: predicted (x), true (y), count.
  const auto cell = [&](int x, int y, int64_t n, const char* what) {
    return fmt::format("set label {} \"{}\\n{}\\n({:.1f}%)\" at {},{} center front font ',15'\n",
                       2 * y + x + 1, what, n,
                       total > 0 ? 100.0 * static_cast<double>(n) / total : 0.0, x, y);
  };
  c.script = header(c.image, format, 620, 560) +
             fmt::format("$cm << EOD\n0 0 {}\n1 0 {}\n0 1 {}\n1 1 {}\nEOD\n", test.tn, test.fp,
                         test.fn, test.tp) +
             fmt::format("set title 'Confusion matrix of the test set ({} reviews)' font ',15'\n",
                         static_cast<int64_t>(total)) +
             "unset grid\nunset key\nset xrange [-0.5:1.5]\nset yrange [1.5:-0.5]\n"
             "set xtics ('negative' 0, 'positive' 1) scale 0\nset ytics ('negative' 0, 'positive' "
             "1) scale 0\n"
             "set xlabel 'predicted class'\nset ylabel 'true class'\nset size ratio -1\n"
             // Light blues only: the black counts stay readable on every cell.
             "set palette defined (0 '#ffffff', 1 '#9ecae1')\n" +
             fmt::format("set cbrange [0:{}]\nunset colorbox\n", biggest) +
             cell(0, 0, test.tn, "true negative") + cell(1, 0, test.fp, "false positive") +
             cell(0, 1, test.fn, "false negative") + cell(1, 1, test.tp, "true positive") +
             "plot $cm using 1:2:3 with image\n";
  return c;
}

void run_gnuplot(const ChartScript& chart, const std::string& dir) {
  namespace fs = std::filesystem;
  const fs::path script = fs::path(dir) / (chart.name + ".gp");
  const fs::path image = fs::path(dir) / chart.image;
  {
    std::ofstream out(script);
    out << chart.script;
    if (!out.flush()) DISTGRU_FAIL(script.string() + ": cannot write");
  }
  fs::remove(image);
  // Single quotes keep any directory name intact for the shell.
  std::string quoted = "'";
  for (char ch : dir) quoted += ch == '\'' ? std::string("'\\''") : std::string(1, ch);
  quoted += "'";
  const std::string command =
      "cd " + quoted + " && gnuplot '" + chart.name + ".gp' > '" + chart.name + ".log' 2>&1";
  const int status = std::system(command.c_str());
  if (status != 0 || !fs::exists(image) || fs::file_size(image) == 0) {
    DISTGRU_FAIL(script.string() + ": gnuplot failed (status " + std::to_string(status) + ", see " +
                 (fs::path(dir) / (chart.name + ".log")).string() +
                 "; is gnuplot installed? Debian: apt-get install gnuplot-nox)");
  }
}

}  // namespace distgru::report
