#include "train/best_model.h"

namespace distgru::train {

double selection_score(const EvalResult& result, SelectMetric metric) {
  switch (metric) {
    case SelectMetric::kAuc: return result.auc;
    case SelectMetric::kLoss: return -result.loss;
    case SelectMetric::kAccuracy: break;
  }
  return result.accuracy;
}

}  // namespace distgru::train
