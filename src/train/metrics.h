#pragma once
// Classification metrics from per-sample probabilities. Pure; no torch.
// Every function refuses scores that are NaN or infinite (a model whose
// parameters diverged): a NaN is neither above nor below a threshold, and
// sorting by `<` with one is undefined behaviour.

#include <cstdint>
#include <string>
#include <vector>

namespace distgru::train {

// Exact ROC AUC as the Mann-Whitney rank statistic: the probability that a
// random positive scores above a random negative, ties counting one half.
// Returns NaN when either class is absent. Throws distgru::Error when a
// score is not finite.
double roc_auc(const std::vector<double>& scores, const std::vector<int32_t>& labels);

// Share of samples whose score >= threshold agrees with the label.
double accuracy(const std::vector<double>& scores, const std::vector<int32_t>& labels,
                double threshold = 0.5);

struct Confusion {
  int64_t tp = 0, fp = 0, tn = 0, fn = 0;
};
Confusion confusion(const std::vector<double>& scores, const std::vector<int32_t>& labels,
                    double threshold = 0.5);

// How many scores are NaN or infinite.
int64_t non_finite_count(const std::vector<double>& scores);

// Throws distgru::Error "<what>: 100 of 100 scores are NaN or infinite" when
// any is.
void check_finite_scores(const std::vector<double>& scores, const std::string& what);

}  // namespace distgru::train
