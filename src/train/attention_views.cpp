#include "train/attention_views.h"

#include <algorithm>
#include <numeric>
#include <random>

#include "data/dataset.h"

namespace distgru::train {
namespace {

report::TokenKind kind_of(int32_t id) {
  switch (id) {
    case data::TokenIds::kPad: return report::TokenKind::kPad;
    case data::TokenIds::kStart: return report::TokenKind::kStart;
    case data::TokenIds::kOov: return report::TokenKind::kOov;
    default: return report::TokenKind::kWord;
  }
}

// `ids` as stored in a shard (start, words, padding), scored by the model.
report::ReviewView view_of_ids(model::AttentionGRU& model, const data::Vocabulary& vocab,
                               const std::vector<int32_t>& ids, int label, std::string name) {
  const auto scored = score_ids(model, ids);
  report::ReviewView v;
  v.name = std::move(name);
  v.predicted = scored.positive_probability >= 0.5 ? 1 : 0;
  v.probability = v.predicted == 1 ? scored.positive_probability : 1.0 - scored.positive_probability;
  v.truth = label;
  for (size_t i = 0; i < ids.size(); ++i) v.tokens.push_back({vocab.word(ids[i]), kind_of(ids[i]), scored.attention[i]});
  // A shard row ends in a real word (not padding) only when the review was cut.
  v.truncated = !ids.empty() && ids.back() != data::TokenIds::kPad;
  if (v.truncated) {
    // Where the vocabulary's truncation cut a review one word too long; how
    // many words went, the row does not say.
    v.gap_after = static_cast<int64_t>(vocab.kept_head(ids.size(), static_cast<int32_t>(ids.size())));
  }
  return v;
}

}  // namespace

report::ReviewView view_of(const Prediction& p, std::string name, int64_t sentence_size) {
  report::ReviewView v;
  v.name = std::move(name);
  v.predicted = p.label;
  v.probability = p.probability;
  v.truncated = p.truncated;
  if (p.truncated) {
    v.gap_after = p.dropped_begin;
    v.gap_words = p.dropped_words;
  }
  double seen = 0.0;
  for (size_t i = 0; i < p.tokens.size(); ++i) {
    const auto& t = p.tokens[i];
    const auto kind = i == 0 ? report::TokenKind::kStart
                      : t.in_vocabulary ? report::TokenKind::kWord
                                        : report::TokenKind::kOov;
    v.tokens.push_back({t.token, kind, t.weight});
    seen += t.weight;
  }
  const auto pads = sentence_size - static_cast<int64_t>(p.tokens.size());
  for (int64_t i = 0; i < pads; ++i) {
    v.tokens.push_back({"<pad>", report::TokenKind::kPad, std::max(0.0, 1.0 - seen) / static_cast<double>(pads)});
  }
  return v;
}

std::vector<report::ReviewView> sample_views(LoadedModel& loaded, const data::Vocabulary& vocab,
                                             const std::string& dir, const std::string& split, int64_t count,
                                             uint64_t seed) {
  data::ShardedDataset dataset(dir, split, shard_meta(loaded.config, split), /*verify_checksums=*/false);
  std::vector<int64_t> rows(static_cast<size_t>(dataset.size()));
  std::iota(rows.begin(), rows.end(), int64_t{0});
  std::mt19937_64 rng(seed);
  std::shuffle(rows.begin(), rows.end(), rng);
  rows.resize(static_cast<size_t>(std::min<int64_t>(count, dataset.size())));
  std::sort(rows.begin(), rows.end());
  std::vector<report::ReviewView> views;
  std::vector<int32_t> ids(static_cast<size_t>(dataset.sentence_size()));
  for (int64_t row : rows) {
    int32_t label = 0;
    dataset.read(row, row + 1, ids.data(), &label);
    views.push_back(view_of_ids(loaded.model, vocab, ids, label, split + " review #" + std::to_string(row)));
  }
  return views;
}

}  // namespace distgru::train
