#pragma once
// ShardedDataset: every shard of one split of a prepared directory seen as one
// global row index space [0, size()), in manifest (shard) order. A rank reads
// only its own range; only the files that range touches are opened for data.

#include <cstdint>
#include <memory>
#include <string>
#include <vector>

#include "data/manifest.h"
#include "data/shard.h"

namespace distgru::data {

class ShardedDataset {
 public:
  // Opens dir/manifest.json and checks every file of `split`: it exists, its
  // size matches the manifest ("<file>: size mismatch (truncated or
  // rewritten?)"), its sha256 too when verify_checksums ("<file>: checksum
  // mismatch (truncated or corrupted?)"), and its attributes agree
  // with `expected` (check_compatible; expected.split is taken to be `split`)
  // and with the manifest. Files are closed again after the check.
  ShardedDataset(const std::string& dir, const std::string& split, const ShardMeta& expected,
                 bool verify_checksums = true);
  ~ShardedDataset();
  ShardedDataset(ShardedDataset&&) noexcept;
  ShardedDataset& operator=(ShardedDataset&&) noexcept;

  int64_t size() const { return offsets_.back(); }  // total samples of the split
  int32_t sentence_size() const { return sentence_size_; }
  const std::vector<ManifestFile>& files() const { return files_; }

  // Reads global rows [begin, end) into x ((end-begin)*sentence_size ids) and
  // y (end-begin labels), as one hyperslab per file touched. Files are opened
  // on first use and kept open. Not thread-safe.
  void read(int64_t begin, int64_t end, int32_t* x, int32_t* y) const;

 private:
  const ShardReader& reader(size_t file) const;

  // Constant after construction.
  std::string dir_;
  std::string split_;
  int32_t sentence_size_ = 0;
  std::vector<ManifestFile> files_;
  std::vector<int64_t> offsets_;  // offsets_[i] = first global row of files_[i]; back() = size
  // Opened lazily by read().
  mutable std::vector<std::unique_ptr<ShardReader>> readers_;
};

}  // namespace distgru::data
