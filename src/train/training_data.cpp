#include "train/training_data.h"

#include <cmath>

#include "common/error.h"

namespace distgru::train {

TrainingData::TrainingData(const TrainConfig& config, int rank, int world_size)
    : shards_(config.data_dir, "train", shard_meta(config, "train"), config.verify_checksums) {
  const int64_t total = shards_.size();
  const auto held_out = static_cast<int64_t>(std::floor(static_cast<double>(total) * config.val_fraction));
  train_size_ = total - held_out;
  validation_ = {train_size_, total};
  block_ = data::block_of(train_size_, rank, world_size);
  local_ = load_samples(shards_, block_);
}

void TrainingData::batch(const std::vector<int64_t>& rows, torch::Device device, torch::Tensor& tokens,
                         torch::Tensor& labels) const {
  std::vector<int64_t> local(rows.size());
  for (size_t i = 0; i < rows.size(); ++i) {
    DISTGRU_CHECK(rows[i] >= block_.begin && rows[i] < block_.end,
                  "training row " + std::to_string(rows[i]) + " is outside this rank's block");
    local[i] = rows[i] - block_.begin;
  }
  auto index = torch::from_blob(local.data(), {static_cast<int64_t>(local.size())}, torch::kLong);
  tokens = local_.tokens.index_select(0, index).to(device);
  labels = local_.labels.index_select(0, index).to(device);
}

}  // namespace distgru::train
