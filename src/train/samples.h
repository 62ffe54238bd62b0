#pragma once
// A rank's slice of a split, loaded once into tensors the model can index.

#include <torch/torch.h>

#include "data/dataset.h"
#include "data/sampler.h"

namespace distgru::train {

struct Samples {
  torch::Tensor tokens;  // [n, sentence_size] int64, CPU
  torch::Tensor labels;  // [n] int64, CPU
  int64_t size() const { return labels.defined() ? labels.size(0) : 0; }
};

// Reads global rows [range.begin, range.end) of the dataset (hyperslabs of
// only the shard files that overlap the range).
Samples load_samples(const data::ShardedDataset& dataset, data::Range range);

}  // namespace distgru::train
