#pragma once
// Initialises embedding rows from a word-vector text file: GloVe's format
// ("word v1 v2 ... vE" per line, as glove.6B.100d.txt) or fastText's .vec,
// the same lines after a header "N E" (the number of vectors and their size;
// `fasttext skipgram` writes it). Words absent from the file keep their
// random initialisation.

#include <torch/torch.h>

#include <cstdint>
#include <string>

namespace distgru::data {
class Vocabulary;
}

namespace distgru::model {

struct GloveStats {
  int64_t lines = 0;    // vectors read from the file
  int64_t matched = 0;  // vocabulary words that received a vector
  bool header = false;  // the file began with fastText's "N E" line
};

// `weight` is the embedding matrix [vocab_size, E]. Throws distgru::Error
// naming the file and line on a vector of the wrong length or a bad number,
// and, for a .vec file, on a header whose size is not E or whose count is not
// the number of vectors that follow (a truncated file).
GloveStats load_glove(const std::string& path, const data::Vocabulary& vocab,
                      torch::Tensor weight);

}  // namespace distgru::model
