#pragma once
// Classification metrics from per-sample probabilities. Pure; no torch.

#include <cstdint>
#include <vector>

namespace distgru::train {

// Exact ROC AUC as the Mann-Whitney rank statistic: the probability that a
// random positive scores above a random negative, ties counting one half.
// Returns NaN when either class is absent.
double roc_auc(const std::vector<double>& scores, const std::vector<int32_t>& labels);

// Share of samples whose score >= threshold agrees with the label.
double accuracy(const std::vector<double>& scores, const std::vector<int32_t>& labels,
                double threshold = 0.5);

struct Confusion {
  int64_t tp = 0, fp = 0, tn = 0, fn = 0;
};
Confusion confusion(const std::vector<double>& scores, const std::vector<int32_t>& labels,
                    double threshold = 0.5);

}  // namespace distgru::train
