#pragma once
// The model each rank trains: built from the config with the same seed
// everywhere, its embedding optionally started from word vectors (rank 0
// reads the file), moved to the communicator's device, and then given rank
// 0's parameters, so the replicas start identical even if initialisation
// ever differed between builds.

#include "distributed/communicator.h"
#include "model/attention_gru.h"
#include "train/config.h"

namespace distgru::train {

// collective: every rank calls it once, before training.
model::AttentionGRU build_replica(const TrainConfig& config, dist::Communicator& comm);

}  // namespace distgru::train
