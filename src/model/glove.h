#pragma once
// Initialises embedding rows from a GloVe-format text file ("word v1 v2 ... vE"
// per line, as glove.6B.100d.txt). Words absent from the file keep their
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
};

// `weight` is the embedding matrix [vocab_size, E]. Throws distgru::Error
// naming the file and line on a vector of the wrong length or a bad number.
GloveStats load_glove(const std::string& path, const data::Vocabulary& vocab,
                      torch::Tensor weight);

}  // namespace distgru::model
