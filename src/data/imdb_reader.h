#pragma once
// Reads the labeled part of the Large Movie Review Dataset (aclImdb) from an
// unpacked directory or straight from the .tar.gz (streamed with libarchive,
// nothing extracted to disk).

#include <cstdint>
#include <string>
#include <vector>

namespace distgru::data {

struct Review {
  std::string path;  // "train/pos/123_9.txt"
  std::string text;  // raw bytes of the file
  int32_t label;     // 1 positive, 0 negative
};

struct ImdbCorpus {
  std::vector<Review> train, test;  // each sorted by path
};

// `source` is an aclImdb directory, its parent, or an archive holding
// [prefix/]aclImdb/{train,test}/{pos,neg}/*.txt. Everything else (train/unsup,
// *.feat, README, imdb.vocab) is ignored. Throws distgru::Error naming the
// source when it is missing, unreadable or corrupt, or when a split has no
// reviews.
ImdbCorpus read_imdb(const std::string& source);

}  // namespace distgru::data
