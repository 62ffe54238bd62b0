#pragma once
// Loading a trained model from a checkpoint, and the tutorial's prediction:
// class, probability and the attention weight of every token.

#include <nlohmann/json.hpp>

#include <string>
#include <vector>

#include "data/vocabulary.h"
#include "model/attention_gru.h"
#include "train/checkpoint.h"
#include "train/config.h"

namespace distgru::train {

struct LoadedModel {
  model::AttentionGRU model{nullptr};
  TrainConfig config;   // as stored in the checkpoint (a model folder: the model's shape and sentence size)
  TrainState state;     // a model folder: its step and fingerprints only
  std::string path;     // the file actually loaded, or the model folder
  std::string digest;   // SHA-256 of the checkpoint's payload, or of the folder's model.safetensors
};

// True for a folder written by distgru-export (config.json and
// model.safetensors in it).
bool is_model_folder(const std::string& path);

// `path_or_dir`: a checkpoint file, a run directory (best.pt, else the
// newest), or a model folder written by distgru-export. The model comes back
// in eval mode on `device`. Throws when it is unreadable, or its parameters
// are not finite.
LoadedModel load_model(const std::string& path_or_dir, torch::Device device);

// Refuses (AgreedError) to feed the model ids from another vocabulary: its
// word ids would mean other words, and every score would be noise.
// `fingerprint` is the SHA-256 of the vocabulary at hand (data/manifest.h),
// `source` names it in the message (a vocab.txt or a data directory). A
// checkpoint of an earlier version records none: a warning, then nothing.
void check_vocabulary(const LoadedModel& loaded, const std::string& fingerprint, const std::string& source);

struct TokenWeight {
  std::string token;   // the review's word, or <start>
  bool in_vocabulary;  // false: the model saw <oov> here
  double weight;       // attention weight
};

struct Prediction {
  int label = 0;               // 1 positive, 0 negative
  double probability = 0.0;    // of `label`
  double positive_probability = 0.0;
  std::vector<TokenWeight> tokens;  // real tokens only (no padding), in order
  bool truncated = false;           // the review had more tokens than fit
  // A truncated review lost its words [dropped_begin, dropped_begin +
  // dropped_words) (0-based; distgru-prepare --truncate says which): in
  // `tokens` they would come right after tokens[dropped_begin], since
  // tokens[0] is <start>.
  int64_t review_words = 0;  // words in the review
  int64_t dropped_begin = 0;
  int64_t dropped_words = 0;
  std::vector<int32_t> ids;         // what the model read: <start>, the words' ids, padding
};

// Tokenises and encodes `text` exactly as distgru-prepare does, then runs the
// model.
Prediction predict(model::AttentionGRU& model, const data::Vocabulary& vocab,
                   const std::string& text, int64_t sentence_size);

// The model on one review already encoded (ids as stored in a shard:
// <start>, words, padding): P(positive) and the attention weight of every
// position, padding included.
struct Scored {
  double positive_probability = 0.0;
  std::vector<double> attention;  // one per id
};
Scored score_ids(model::AttentionGRU& model, const std::vector<int32_t>& ids);

// One prediction as a JSON object: label, probability, positive_probability,
// truncated, review_words, dropped_words, dropped_begin, tokens [{token,
// in_vocabulary, attention}] and ids (the model's input, for checking another
// runtime against distgru).
nlohmann::json to_json(const Prediction& prediction);

}  // namespace distgru::train
