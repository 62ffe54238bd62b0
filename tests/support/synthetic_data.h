#pragma once
// A small, learnable dataset in distgru-prepare's on-disk format (HDF5 shards,
// vocab.txt and manifest.json), for tests that need real files but not real
// reviews.

#include <cstdint>
#include <string>

namespace distgru::testing {

struct SyntheticSpec {
  int64_t train = 96;
  int64_t test = 32;
  int32_t vocab_size = 50;
  int32_t sentence_size = 12;
  int32_t train_shards = 2;
  uint64_t seed = 7;
};

// Label 1 reviews use ids from the upper half of the vocabulary, label 0 from
// the lower half; lengths vary so padding is exercised.
void write_synthetic_dataset(const std::string& dir, const SyntheticSpec& spec);

// A unique empty directory under the temp dir; removed by the destructor.
class ScratchDir {
 public:
  explicit ScratchDir(const std::string& tag);
  ~ScratchDir();
  ScratchDir(const ScratchDir&) = delete;
  ScratchDir& operator=(const ScratchDir&) = delete;
  const std::string& path() const { return path_; }

 private:
  std::string path_;
};

}  // namespace distgru::testing
