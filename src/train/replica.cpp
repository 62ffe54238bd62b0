#include "train/replica.h"

#include <filesystem>

#include "common/log.h"
#include "data/vocabulary.h"
#include "data/word_vectors.h"
#include "distributed/tensor_collectives.h"
#include "model/glove.h"

namespace distgru::train {

model::AttentionGRU build_replica(const TrainConfig& config, dist::Communicator& comm) {
  torch::manual_seed(config.seed);
  model::AttentionGRU model(model_config(config));
  const auto vectors = comm.rank() == 0 ? data::resolve_word_vectors(config.glove, config.data_dir) : "";
  if (!vectors.empty()) {
    const auto vocab =
        data::Vocabulary::load((std::filesystem::path(config.data_dir) / "vocab.txt").string());
    const auto stats = model::load_glove(vectors, vocab, model->embedding()->weight);
    spdlog::info("word vectors: {} ({}): {} vectors read; {} of the {} vocabulary ids initialised ({:.1f}%), "
                 "the rest random",
                 vectors, stats.header ? "fastText .vec" : "GloVe text", stats.lines, stats.matched,
                 vocab.vocab_size(), 100.0 * stats.matched / vocab.vocab_size());
  }
  model->to(comm.device());
  dist::broadcast_tensors(comm, model->parameters(), 0);
  return model;
}

}  // namespace distgru::train
