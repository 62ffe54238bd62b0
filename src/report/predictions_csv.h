#pragma once
// Per-review test scores as CSV: "index,probability,label,prediction", one row
// per review in the split's order. distgru-eval --predictions writes it and
// distgru-report reads it for the ROC curve.

#include <cstdint>
#include <string>
#include <vector>

namespace distgru::report {

struct ScoredReviews {
  std::vector<double> probabilities;  // P(positive)
  std::vector<int32_t> labels;        // 1 positive, 0 negative
};

// Prediction is probability >= 0.5, as in train::confusion.
void write_predictions_csv(const std::string& path, const ScoredReviews& scored);

// Errors name the file and line.
ScoredReviews read_predictions_csv(const std::string& path);

}  // namespace distgru::report
