#pragma once
// One HDF5 shard of encoded reviews. Layout (see data/README.md):
//   /x  int32 [num_samples, sentence_size]  chunked, shuffle + deflate 4
//   /y  int32 [num_samples]                 1 positive, 0 negative
//   root attributes: format_version (1) and every ShardMeta field.
// Files are written deterministically (no timestamps) and atomically.

#include <cstdint>
#include <string>
#include <vector>

#include "data/h5.h"
#include "data/vocabulary.h"

namespace distgru::data {

struct ShardMeta {
  std::string split;  // "train" or "test"
  int32_t vocab_size = kDefaultVocabSize, sentence_size = kDefaultSentenceSize,
          pad_id = TokenIds::kPad, start_id = TokenIds::kStart, oov_id = TokenIds::kOov,
          index_offset = TokenIds::kIndexOffset;
  int32_t shard_index = 0, shard_count = 1;
  int64_t num_samples = 0;
};

// Writes `path` (via path.tmp + rename). x holds num_samples * sentence_size
// ids row-major, y num_samples labels; meta.num_samples must equal y.size().
// Values are not range-checked here; ShardReader::read checks them.
void write_shard(const std::string& path, const ShardMeta& meta, const std::vector<int32_t>& x,
                 const std::vector<int32_t>& y);

// Reads one shard. Opening reads and validates only the attributes and the
// dataset shapes; data is read on demand. Not thread-safe (neither is serial
// HDF5).
class ShardReader {
 public:
  explicit ShardReader(const std::string& path);

  const ShardMeta& meta() const { return meta_; }
  const std::string& path() const { return path_; }

  // Reads rows [begin, end) as a hyperslab into x ((end-begin)*sentence_size
  // ids) and y (end-begin labels). Throws naming the file, the row and the
  // value for a token id outside [0, vocab_size) or a label not in {0, 1}.
  void read(int64_t begin, int64_t end, int32_t* x, int32_t* y) const;

 private:
  // Constant after construction.
  std::string path_;
  ShardMeta meta_;
  h5::File file_;
  h5::Dataset x_, y_;
};

// Checks the fields that must agree between a shard and the run's config:
// vocab_size, sentence_size, pad/start/oov ids, index_offset, and split when
// expected.split is non-empty. One error lists every differing field, e.g.
// "train-00000-of-00002.h5: vocab_size is 5000 but the config says 20000".
void check_compatible(const ShardMeta& actual, const ShardMeta& expected, const std::string& path);

}  // namespace distgru::data
