#pragma once
// distgru-prepare's library half: IMDB archive or directory -> vocab.txt,
// train/test HDF5 shards and manifest.json. The output is a pure function of
// the input reviews and the options: the same flags give byte-identical files
// on every platform.

#include <cstdint>
#include <string>
#include <vector>

#include "data/vocabulary.h"

namespace distgru::data {

struct PrepareOptions {
  std::string source, out_dir;
  int32_t shards = 1, vocab_size = kDefaultVocabSize, sentence_size = kDefaultSentenceSize;
  uint64_t seed = 42;
  int32_t test_shards = 1;
  // > 0: keep only this many reviews of the split, the first ones of its
  // shuffled order (so still about balanced), for quick runs and tests.
  int64_t max_train = 0, max_test = 0;
  // Which words of a long review are kept: the start and the end (see
  // Truncation for the source and the choice).
  Truncation truncation = Truncation::kKeepHeadTail;
};

struct PrepareSummary {
  int64_t train_samples, test_samples;
  size_t vocab_words;
  std::vector<std::string> files;  // paths written: shards, vocab.txt, manifest.json last
};

// Throws distgru::Error naming the option when `opt` cannot be prepared
// (counts below their minimum, a missing source); prepare_imdb checks it
// first, and distgru-prepare too, to tell a usage error (exit 2) from a
// failure.
void validate_prepare_options(const PrepareOptions& opt);

// Steps: read_imdb; count train words (tokenize); build the vocabulary;
// encode; shuffle train with `seed` and test with a seed derived from it;
// split each into contiguous shards whose sizes differ by at most one; write
// shards, vocab.txt, then manifest.json (its presence marks a complete
// directory). Throws distgru::Error on bad options or input.
PrepareSummary prepare_imdb(const PrepareOptions& opt);

// A permutation of 0..n-1: Fisher-Yates driven by std::mt19937_64(seed) with
// our own unbiased bounded draw, because std::shuffle and
// std::uniform_int_distribution differ between standard libraries.
std::vector<size_t> shuffled_order(size_t n, uint64_t seed);

// "train-00001-of-00004.h5"
std::string shard_name(const std::string& split, int32_t index, int32_t count);

}  // namespace distgru::data
