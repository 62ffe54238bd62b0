#pragma once
// The ROC curve of a binary classifier from per-sample scores. Pure; no torch.

#include <cstddef>
#include <cstdint>
#include <vector>

namespace distgru::report {

struct RocPoint {
  double fpr = 0.0;        // false positive rate at this threshold
  double tpr = 0.0;        // true positive rate
  double threshold = 0.0;  // score >= threshold counts as positive
};

// One point per distinct score, from (0,0) (threshold above every score) to
// (1,1). Tied scores move the curve diagonally in one step, so the trapezoid
// area under these points equals the Mann-Whitney AUC with ties counting one
// half (train::roc_auc). Empty when either class is absent.
std::vector<RocPoint> roc_points(const std::vector<double>& scores,
                                 const std::vector<int32_t>& labels);

// Trapezoid area under the points (in order of increasing fpr).
double area_under(const std::vector<RocPoint>& points);

// At most `max_points` points spread evenly along the curve, keeping the first
// and the last; the curve of 25,000 reviews needs no 25,000 vertices to draw.
std::vector<RocPoint> thin_points(const std::vector<RocPoint>& points, size_t max_points);

}  // namespace distgru::report
