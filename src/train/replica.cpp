#include "train/replica.h"

#include <filesystem>

#include "common/error.h"
#include "common/log.h"
#include "data/vocabulary.h"
#include "data/word_vectors.h"
#include "distributed/tensor_collectives.h"
#include "model/glove.h"
#include "train/rank_agreement.h"

namespace distgru::train {

model::AttentionGRU build_replica(const TrainConfig& config, dist::Communicator& comm) {
  torch::manual_seed(config.seed);
  model::AttentionGRU model(model_config(config));
  // Rank 0 reads the vectors (the others receive its parameters below); a
  // problem with them is every rank's refusal, not rank 0's crash.
  std::string problem;
  if (comm.rank() == 0) {
    try {
      const auto vectors = data::resolve_word_vectors(config.glove, config.data_dir, config.val_fraction);
      if (!vectors.empty()) {
        const auto vocab =
            data::Vocabulary::load((std::filesystem::path(config.data_dir) / "vocab.txt").string());
        const auto stats = model::load_glove(vectors, vocab, model->embedding()->weight);
        const double share = 100.0 * stats.matched / vocab.vocab_size();
        DISTGRU_CHECK(stats.matched > 0, "--glove " + vectors + ": none of its " + std::to_string(stats.lines) +
                                             " vectors is for a word of " + config.data_dir +
                                             "/vocab.txt (vectors for another language or tokeniser?)");
        spdlog::log(share < 50 ? spdlog::level::warn : spdlog::level::info,
                    "word vectors: {} ({}): {} vectors read; {} of the {} vocabulary ids initialised ({:.1f}%), "
                    "the rest random",
                    vectors, stats.header ? "fastText .vec" : "GloVe text", stats.lines, stats.matched,
                    vocab.vocab_size(), share);
      }
    } catch (const Error& e) {
      problem = without_process_label(e.what());
    }
  }
  agree_on_root_refusal(comm, problem);
  model->to(comm.device());
  dist::broadcast_tensors(comm, model->parameters(), 0);
  return model;
}

}  // namespace distgru::train
