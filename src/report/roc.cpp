#include "report/roc.h"

#include <algorithm>
#include <limits>
#include <numeric>

#include "common/error.h"

namespace distgru::report {

std::vector<RocPoint> roc_points(const std::vector<double>& scores,
                                 const std::vector<int32_t>& labels) {
  DISTGRU_CHECK(scores.size() == labels.size(), "roc_points: " + std::to_string(scores.size()) +
                                                    " scores but " + std::to_string(labels.size()) +
                                                    " labels");
  const auto positives = std::count(labels.begin(), labels.end(), 1);
  const auto negatives = static_cast<int64_t>(labels.size()) - positives;
  if (positives == 0 || negatives == 0) return {};
  std::vector<size_t> order(scores.size());
  std::iota(order.begin(), order.end(), size_t{0});
  std::sort(order.begin(), order.end(), [&](size_t a, size_t b) { return scores[a] > scores[b]; });

  std::vector<RocPoint> points{{0.0, 0.0, std::numeric_limits<double>::infinity()}};
  int64_t tp = 0, fp = 0;
  for (size_t i = 0; i < order.size();) {
    // Every sample of one score crosses the threshold together.
    const double score = scores[order[i]];
    for (; i < order.size() && scores[order[i]] == score; ++i) {
      (labels[order[i]] == 1 ? tp : fp) += 1;
    }
    points.push_back({static_cast<double>(fp) / static_cast<double>(negatives),
                      static_cast<double>(tp) / static_cast<double>(positives), score});
  }
  return points;
}

double area_under(const std::vector<RocPoint>& points) {
  double area = 0.0;
  for (size_t i = 1; i < points.size(); ++i) {
    area += (points[i].fpr - points[i - 1].fpr) * (points[i].tpr + points[i - 1].tpr) / 2.0;
  }
  return area;
}

std::vector<RocPoint> thin_points(const std::vector<RocPoint>& points, size_t max_points) {
  if (points.size() <= max_points || max_points < 2) return points;
  std::vector<RocPoint> out;
  out.reserve(max_points);
  const double stride =
      static_cast<double>(points.size() - 1) / static_cast<double>(max_points - 1);
  for (size_t k = 0; k < max_points; ++k) {
    out.push_back(points[static_cast<size_t>(static_cast<double>(k) * stride + 0.5)]);
  }
  out.back() = points.back();
  return out;
}

}  // namespace distgru::report
