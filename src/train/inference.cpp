#include "train/inference.h"

#include <filesystem>

#include "common/error.h"
#include "common/file_system.h"
#include "common/log.h"
#include "data/manifest.h"
#include "data/tokenizer.h"
#include "model/safetensors.h"

namespace distgru::train {

namespace fs = std::filesystem;

bool is_model_folder(const std::string& path) {
  return fs::is_directory(path) && fs::is_regular_file(fs::path(path) / "config.json") &&
         fs::is_regular_file(fs::path(path) / "model.safetensors");
}

namespace {

// A folder written by distgru-export: config.json and model.safetensors.
LoadedModel load_model_folder(const std::string& dir, torch::Device device) {
  const auto config_path = (fs::path(dir) / "config.json").string();
  const auto weights_path = (fs::path(dir) / "model.safetensors").string();
  LoadedModel loaded;
  loaded.path = dir;
  try {
    const auto j = nlohmann::json::parse(read_file(config_path));
    DISTGRU_CHECK(j.value("format", "") == "distgru-model", config_path + ": not a distgru model folder's config");
    const auto& m = j.at("model");
    loaded.config.vocab_size = m.at("vocab_size").get<int64_t>();
    loaded.config.embed_dim = m.at("embed_dim").get<int64_t>();
    loaded.config.hidden_size = m.at("hidden_size").get<int64_t>();
    loaded.config.attention_size = m.at("attention_size").get<int64_t>();
    loaded.config.mask_padding = m.at("mask_padding").get<bool>();
    loaded.config.sentence_size = j.at("tokenizer").at("sentence_size").get<int64_t>();
    loaded.state.vocab_fingerprint = j.at("vocabulary").at("sha256").get<std::string>();
    loaded.state.step = j.at("source").at("step").get<int64_t>();
    loaded.state.data_fingerprint = j.at("source").value("data_fingerprint", "");
  } catch (const nlohmann::json::exception& e) {
    DISTGRU_FAIL(config_path + ": " + e.what());
  }
  loaded.model = model::AttentionGRU(model_config(loaded.config));
  const std::string bytes = read_file(weights_path);
  model::load_named_tensors(*loaded.model, model::parse_safetensors(bytes, weights_path).tensors, weights_path);
  if (auto bad = non_finite_parameters(*loaded.model)) DISTGRU_FAIL(weights_path + ": " + *bad);
  loaded.digest = data::sha256_hex(bytes);
  return loaded;
}

}  // namespace

LoadedModel load_model(const std::string& path_or_dir, torch::Device device) {
  LoadedModel loaded;
  if (is_model_folder(path_or_dir)) {
    loaded = load_model_folder(path_or_dir, device);
  } else {
    loaded.path = resolve_checkpoint(path_or_dir);
    auto header = read_checkpoint_header(loaded.path);
    loaded.config = config_from_ini(header.config_ini, loaded.path);
    loaded.model = model::AttentionGRU(model_config(loaded.config));
    loaded.state = load_checkpoint(loaded.path, *loaded.model, nullptr).state;
    loaded.digest = checkpoint_digest(loaded.path);
  }
  loaded.model->to(device);
  loaded.model->eval();
  return loaded;
}

void check_vocabulary(const LoadedModel& loaded, const std::string& fingerprint, const std::string& source) {
  const auto& trained = loaded.state.vocab_fingerprint;
  if (trained.empty()) {
    spdlog::warn("{} records no vocabulary fingerprint (written by an earlier version): cannot check that {} is "
                 "the vocabulary it was trained with",
                 loaded.path, source);
    return;
  }
  if (trained == fingerprint) return;
  throw AgreedError(loaded.path + " was trained with the vocabulary " + trained.substr(0, 12) + "… but " + source +
                        " is " + fingerprint.substr(0, 12) +
                        "…: its ids mean other words (every score would be noise), or it cuts long reviews "
                        "another way (the truncate= field of vocab.txt's header: distgru-prepare --truncate). "
                        "Use the vocab.txt (or data) prepared for that run",
                    kExitRefused);
}

Prediction predict(model::AttentionGRU& model, const data::Vocabulary& vocab,
                   const std::string& text, int64_t sentence_size) {
  DISTGRU_CHECK(vocab.vocab_size() == model->config().vocab_size,
                "vocabulary has " + std::to_string(vocab.vocab_size()) + " ids but the model expects " +
                    std::to_string(model->config().vocab_size));
  const auto words = data::tokenize(text);
  const auto ids = vocab.encode(words, static_cast<int32_t>(sentence_size));
  const auto scored = score_ids(model, ids);

  Prediction p;
  p.ids = ids;
  p.positive_probability = scored.positive_probability;
  p.label = p.positive_probability >= 0.5 ? 1 : 0;
  p.probability = p.label == 1 ? p.positive_probability : 1.0 - p.positive_probability;
  p.review_words = static_cast<int64_t>(words.size());
  p.dropped_begin = static_cast<int64_t>(vocab.kept_head(words.size(), static_cast<int32_t>(sentence_size)));
  // Position 0 is <start>; position i > 0 is the (i-1)-th kept word until
  // padding begins (a long review keeps its end, its start, or both).
  const std::vector<size_t> kept = vocab.kept_words(words.size(), static_cast<int32_t>(sentence_size));
  const int64_t real = static_cast<int64_t>(kept.size()) + 1;
  p.dropped_words = p.review_words - static_cast<int64_t>(kept.size());
  p.truncated = p.dropped_words > 0;
  for (int64_t i = 0; i < real; ++i) {
    TokenWeight t;
    t.token = i == 0 ? "<start>" : words[kept[static_cast<size_t>(i - 1)]];
    t.in_vocabulary = ids[static_cast<size_t>(i)] != data::TokenIds::kOov;
    t.weight = scored.attention[static_cast<size_t>(i)];
    p.tokens.push_back(std::move(t));
  }
  return p;
}

Scored score_ids(model::AttentionGRU& model, const std::vector<int32_t>& ids) {
  const auto device = model->parameters().front().device();
  auto tokens =
      torch::tensor(std::vector<int64_t>(ids.begin(), ids.end()), torch::kLong).reshape({1, -1}).to(device);
  torch::NoGradGuard no_grad;
  auto out = model->forward(tokens);
  Scored scored;
  scored.positive_probability = torch::softmax(out.logits, 1)[0][1].item<double>();
  auto weights = out.attention[0].to(torch::kCPU, torch::kDouble).contiguous();
  const double* w = weights.data_ptr<double>();
  scored.attention.assign(w, w + weights.numel());
  return scored;
}

nlohmann::json to_json(const Prediction& p) {
  nlohmann::json tokens = nlohmann::json::array();
  for (const auto& t : p.tokens) {
    tokens.push_back({{"token", t.token}, {"in_vocabulary", t.in_vocabulary}, {"attention", t.weight}});
  }
  return {{"label", p.label == 1 ? "positive" : "negative"}, {"probability", p.probability},
          {"positive_probability", p.positive_probability}, {"truncated", p.truncated},
          {"review_words", p.review_words}, {"dropped_words", p.dropped_words}, {"dropped_begin", p.dropped_begin},
          {"tokens", tokens}, {"ids", p.ids}};
}

}  // namespace distgru::train
