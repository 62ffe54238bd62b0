#include "train/metrics.h"

#include <algorithm>
#include <cmath>
#include <limits>
#include <numeric>

#include "common/error.h"

namespace distgru::train {

int64_t non_finite_count(const std::vector<double>& scores) {
  return std::count_if(scores.begin(), scores.end(), [](double s) { return !std::isfinite(s); });
}

void check_finite_scores(const std::vector<double>& scores, const std::string& what) {
  const int64_t bad = non_finite_count(scores);
  DISTGRU_CHECK(bad == 0, what + ": " + std::to_string(bad) + " of " + std::to_string(scores.size()) +
                              " scores are NaN or infinite");
}

double roc_auc(const std::vector<double>& scores, const std::vector<int32_t>& labels) {
  DISTGRU_CHECK(scores.size() == labels.size(), "roc_auc: scores and labels differ in length");
  check_finite_scores(scores, "roc_auc");
  const size_t n = scores.size();
  std::vector<size_t> order(n);
  std::iota(order.begin(), order.end(), size_t{0});
  std::sort(order.begin(), order.end(), [&](size_t a, size_t b) { return scores[a] < scores[b]; });
  // Sum of the (1-based, tie-averaged) ranks of the positives.
  double positive_rank_sum = 0.0;
  int64_t positives = 0;
  for (size_t i = 0; i < n;) {
    size_t j = i;
    while (j < n && scores[order[j]] == scores[order[i]]) ++j;
    const double average_rank = (static_cast<double>(i + 1) + static_cast<double>(j)) / 2.0;
    for (size_t k = i; k < j; ++k) {
      if (labels[order[k]] == 1) {
        positive_rank_sum += average_rank;
        ++positives;
      }
    }
    i = j;
  }
  const int64_t negatives = static_cast<int64_t>(n) - positives;
  if (positives == 0 || negatives == 0) return std::numeric_limits<double>::quiet_NaN();
  const double p = static_cast<double>(positives);
  return (positive_rank_sum - p * (p + 1.0) / 2.0) / (p * static_cast<double>(negatives));
}

Confusion confusion(const std::vector<double>& scores, const std::vector<int32_t>& labels,
                    double threshold) {
  DISTGRU_CHECK(scores.size() == labels.size(), "confusion: scores and labels differ in length");
  check_finite_scores(scores, "confusion");
  Confusion c;
  for (size_t i = 0; i < scores.size(); ++i) {
    const bool predicted = scores[i] >= threshold;
    const bool actual = labels[i] == 1;
    if (predicted && actual) ++c.tp;
    else if (predicted) ++c.fp;
    else if (actual) ++c.fn;
    else ++c.tn;
  }
  return c;
}

double accuracy(const std::vector<double>& scores, const std::vector<int32_t>& labels,
                double threshold) {
  if (scores.empty()) return std::numeric_limits<double>::quiet_NaN();
  const auto c = confusion(scores, labels, threshold);
  return static_cast<double>(c.tp + c.tn) / static_cast<double>(scores.size());
}

}  // namespace distgru::train
