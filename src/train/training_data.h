#pragma once
// The training reviews as one rank sees them: the training split minus the
// validation reviews held out at its tail (the same ones whatever the number
// of ranks), and this rank's contiguous block of the rest, read once into
// memory (HDF5 hyperslabs of only the shards the block touches).

#include <torch/torch.h>

#include <cstdint>
#include <vector>

#include "data/dataset.h"
#include "data/sampler.h"
#include "train/config.h"
#include "train/samples.h"

namespace distgru::train {

class TrainingData {
 public:
  // Opens config.data_dir's training shards (checked against the manifest
  // and the config's sizes) and loads this rank's block of the training
  // range. Throws distgru::Error naming the file for any mismatch.
  TrainingData(const TrainConfig& config, int rank, int world_size);

  const data::ShardedDataset& shards() const { return shards_; }
  int64_t train_size() const { return train_size_; }  // reviews trained on: rows [0, train_size)
  data::Range validation() const { return validation_; }  // rows held out for validation
  data::Range block() const { return block_; }            // this rank's rows of [0, train_size)

  // The samples at these rows (all inside block()), on `device`.
  void batch(const std::vector<int64_t>& rows, torch::Device device, torch::Tensor& tokens,
             torch::Tensor& labels) const;

 private:
  // Constant after construction.
  data::ShardedDataset shards_;
  int64_t train_size_ = 0;
  data::Range validation_;
  data::Range block_;
  Samples local_;
};

}  // namespace distgru::train
