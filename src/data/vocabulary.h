#pragma once
// Word <-> id mapping built from training-set word counts.
//
// Id conventions (shared with the model and documented in data/README.md):
// 0 pads, 1 starts every sentence, 2 stands for any word not in the
// vocabulary, and the word of frequency rank r (1-based) gets id r + 2. Only
// ids below vocab_size are kept, so the vocabulary holds at most
// vocab_size - 3 words.

#include <cstdint>
#include <string>
#include <string_view>
#include <unordered_map>
#include <vector>

#include "common/choice.h"

namespace distgru::data {

struct TokenIds {
  static constexpr int32_t kPad = 0, kStart = 1, kOov = 2, kIndexOffset = 2;
};

// The tutorial's encoding, the default of distgru-prepare, the shards' check
// and the model: ids for the 19,997 most frequent training words plus the
// three reserved ones, and 256 tokens per review (<start> + 255 words).
constexpr int32_t kDefaultVocabSize = 20000;
constexpr int32_t kDefaultSentenceSize = 256;

// Which part of a review longer than sentence_size - 1 words is kept.
// kKeepEnd is Keras's pad_sequences default (which the tutorial used):
// reviewers tend to state their verdict last. kKeepHeadTail keeps the first
// quarter of the room from the beginning and the rest from the end, the split
// Sun et al. found best for long reviews ("How to Fine-Tune BERT for Text
// Classification", CCL 2019, section 5.3.1: head 128 + tail 382 of 510); it
// is distgru-prepare's default (PrepareOptions), chosen on validation (README
// "Results": better than the end alone on each of 3 seeds).
enum class Truncation { kKeepStart, kKeepEnd, kKeepHeadTail };

class Vocabulary {
 public:
  // Words ranked by count (desc), ties broken by bytewise word order (asc).
  // Word of rank r (1-based) gets id r + kIndexOffset; only ids < vocab_size
  // are kept. Words with a count <= 0 are ignored.
  static Vocabulary build(const std::unordered_map<std::string, int64_t>& counts,
                          int32_t vocab_size, Truncation truncation = Truncation::kKeepEnd);
  // Reads vocab.txt (format in data/README.md); errors name the file and line.
  static Vocabulary load(const std::string& path);
  // Atomic: writes path.tmp, fsyncs, renames.
  void save(const std::string& path) const;

  int32_t vocab_size() const { return vocab_size_; }
  // kOov when unknown.
  int32_t id(std::string_view word) const;
  // "<pad>", "<start>", "<oov>" for 0, 1, 2; throws for ids without a word.
  const std::string& word(int32_t id) const;
  size_t num_words() const { return words_.size(); }
  Truncation truncation() const { return truncation_; }
  // The indices (ascending) of the words of an `n`-word review that encode()
  // keeps: all of them when n <= sentence_size - 1, else sentence_size - 1 of
  // them as truncation() says.
  std::vector<size_t> kept_words(size_t n, int32_t sentence_size) const;
  // How many of those come from the review's beginning: the words a long
  // review loses start at this index (n when it loses none).
  size_t kept_head(size_t n, int32_t sentence_size) const;
  // [kStart, ids...]: the kept words (kept_words()), then padded at the end
  // with kPad up to sentence_size.
  std::vector<int32_t> encode(const std::vector<std::string>& tokens, int32_t sentence_size) const;

 private:
  Vocabulary(int32_t vocab_size, std::vector<std::string> words, std::vector<int64_t> counts);

  int32_t vocab_size_;
  Truncation truncation_ = Truncation::kKeepEnd;
  std::vector<std::string> words_;  // rank order; words_[i] has id i + 3
  std::vector<int64_t> counts_;     // training-set count of words_[i]
  std::unordered_map<std::string, int32_t> ids_;
};

}  // namespace distgru::data

template <>
struct distgru::ChoiceNames<distgru::data::Truncation> {
  using E = data::Truncation;
  static constexpr std::array<std::pair<E, std::string_view>, 3> kValues{
      {{E::kKeepEnd, "end"}, {E::kKeepStart, "start"}, {E::kKeepHeadTail, "head-tail"}}};
};
