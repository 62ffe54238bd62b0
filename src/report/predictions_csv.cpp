#include "report/predictions_csv.h"

#include <fmt/format.h>

#include <cstdio>
#include <fstream>

#include "common/error.h"

namespace distgru::report {

namespace {
constexpr const char* kHeader = "index,probability,label,prediction";
}

void write_predictions_csv(const std::string& path, const ScoredReviews& scored) {
  DISTGRU_CHECK(scored.probabilities.size() == scored.labels.size(),
                path + ": probabilities and labels differ in length");
  std::ofstream csv(path);
  if (!csv) DISTGRU_FAIL(path + ": cannot open for writing");
  csv << kHeader << '\n';
  for (size_t i = 0; i < scored.probabilities.size(); ++i) {
    const double p = scored.probabilities[i];
    csv << fmt::format("{},{:.9g},{},{}\n", i, p, scored.labels[i], p >= 0.5 ? 1 : 0);
  }
  if (!csv.flush()) DISTGRU_FAIL(path + ": write failed");
}

ScoredReviews read_predictions_csv(const std::string& path) {
  std::ifstream in(path);
  if (!in) DISTGRU_FAIL(path + ": cannot open");
  std::string line;
  if (!std::getline(in, line) || line.rfind(kHeader, 0) != 0) {
    DISTGRU_FAIL(path + ":1: expected the header '" + std::string(kHeader) + "'");
  }
  ScoredReviews scored;
  for (int number = 2; std::getline(in, line); ++number) {
    if (line.empty() || line == "\r") continue;
    long long index = 0;
    double probability = 0.0;
    int label = 0;
    if (std::sscanf(line.c_str(), "%lld,%lf,%d", &index, &probability, &label) != 3 ||
        (label != 0 && label != 1) || !(probability >= 0.0 && probability <= 1.0)) {
      DISTGRU_FAIL(path + ":" + std::to_string(number) +
                   ": expected index,probability in [0,1],label 0|1");
    }
    scored.probabilities.push_back(probability);
    scored.labels.push_back(label);
  }
  if (scored.labels.empty()) DISTGRU_FAIL(path + ": no rows");
  return scored;
}

}  // namespace distgru::report
