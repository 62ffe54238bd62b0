#include "train/samples.h"

#include <vector>

namespace distgru::train {

Samples load_samples(const data::ShardedDataset& dataset, data::Range range) {
  const int64_t n = range.size();
  const int64_t t = dataset.sentence_size();
  std::vector<int32_t> x(static_cast<size_t>(n * t));
  std::vector<int32_t> y(static_cast<size_t>(n));
  if (n > 0) dataset.read(range.begin, range.end, x.data(), y.data());
  Samples s;
  s.tokens = torch::from_blob(x.data(), {n, t}, torch::kInt).to(torch::kLong);
  s.labels = torch::from_blob(y.data(), {n}, torch::kInt).to(torch::kLong);
  return s;
}

}  // namespace distgru::train
