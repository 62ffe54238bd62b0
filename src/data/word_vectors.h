#pragma once
// Where a run's pretrained word vectors come from (--glove). A path names a
// GloVe or fastText text file (model/glove.h reads both). The value "data"
// names the vectors data/pretrain_vectors.sh learned from the data
// directory's training reviews: <data>/word_vectors.vec, whose SHA-256 is
// recorded in <data>/word_vectors.json beside how it was made, so a file
// that changed or was cut short is refused before it initialises anything.

#include <string>

namespace distgru::data {

inline constexpr char kWordVectorsFile[] = "word_vectors.vec";
inline constexpr char kWordVectorsRecord[] = "word_vectors.json";

// The file to read for --glove `setting` ("" or "none": none, returns "").
// For "data", checks <data_dir>/word_vectors.vec against the SHA-256 in
// word_vectors.json, and that the vectors never read a review this run
// validates on: the record's training shards must be the manifest's, and
// its left-out tail at least `val_fraction` (the run's validation tail).
// Throws distgru::Error naming the file and the problem (missing, with the
// command that makes it; unreadable record; checksum differs; learned from
// other shards or from validation reviews, with the command that remakes it).
std::string resolve_word_vectors(const std::string& setting, const std::string& data_dir, double val_fraction);

}  // namespace distgru::data
