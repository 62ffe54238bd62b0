#pragma once
// The small model the model tests build: vocabulary 30, embedding 6, 5 GRU
// units per direction, attention 4 (fast to run, every path exercised).
#include "model/attention_gru.h"

namespace distgru::model::testing {

inline ModelConfig tiny_model_config() {
  ModelConfig c;
  c.vocab_size = 30;
  c.embed_dim = 6;
  c.hidden_size = 5;
  c.attention_size = 4;
  return c;
}

}  // namespace distgru::model::testing
