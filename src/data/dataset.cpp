#include "data/dataset.h"

#include <algorithm>
#include <filesystem>

#include "common/error.h"
#include "common/file_system.h"

namespace distgru::data {

ShardedDataset::ShardedDataset(const std::string& dir, const std::string& split,
                               const ShardMeta& expected, bool verify_checksums)
    : dir_(dir), split_(split), sentence_size_(expected.sentence_size) {
  const Manifest manifest = load_manifest(dir);
  files_ = manifest.files_of(split);
  DISTGRU_CHECK(!files_.empty(), dir + "/manifest.json: no files for split '" + split + "'");
  ShardMeta want = expected;
  want.split = split;
  offsets_.push_back(0);
  for (size_t i = 0; i < files_.size(); ++i) {
    const ManifestFile& f = files_[i];
    const std::string path = (std::filesystem::path(dir) / f.name).string();
    DISTGRU_CHECK(std::filesystem::is_regular_file(path), path + ": missing");
    if (f.bytes >= 0) {
      const int64_t bytes = file_size(path);
      DISTGRU_CHECK(bytes == f.bytes, path + ": size mismatch (truncated or rewritten?): " +
                                          std::to_string(bytes) + " bytes, manifest.json says " +
                                          std::to_string(f.bytes));
    }
    if (verify_checksums) {
      DISTGRU_CHECK(sha256_file(path) == f.sha256,
                    path + ": checksum mismatch (truncated or corrupted?)");
    }
    ShardReader reader(path);
    const ShardMeta& meta = reader.meta();
    check_compatible(meta, want, path);
    DISTGRU_CHECK(
        meta.num_samples == f.num_samples && meta.shard_index == static_cast<int32_t>(i) &&
            meta.shard_count == static_cast<int32_t>(files_.size()),
        path + ": holds shard " + std::to_string(meta.shard_index) + " of " +
            std::to_string(meta.shard_count) + " with " + std::to_string(meta.num_samples) +
            " samples, but the manifest lists it as " + std::to_string(i) + " of " +
            std::to_string(files_.size()) + " with " + std::to_string(f.num_samples));
    offsets_.push_back(offsets_.back() + meta.num_samples);
  }
  readers_.resize(files_.size());
}

ShardedDataset::~ShardedDataset() = default;
ShardedDataset::ShardedDataset(ShardedDataset&&) noexcept = default;
ShardedDataset& ShardedDataset::operator=(ShardedDataset&&) noexcept = default;

const ShardReader& ShardedDataset::reader(size_t file) const {
  if (!readers_[file]) {
    readers_[file] =
        std::make_unique<ShardReader>((std::filesystem::path(dir_) / files_[file].name).string());
  }
  return *readers_[file];
}

void ShardedDataset::read(int64_t begin, int64_t end, int32_t* x, int32_t* y) const {
  DISTGRU_CHECK(0 <= begin && begin <= end && end <= size(),
                dir_ + " (" + split_ + "): rows [" + std::to_string(begin) + ", " +
                    std::to_string(end) + ") are outside [0, " + std::to_string(size()) + ")");
  // Last file starting at or before `begin`.
  size_t file = static_cast<size_t>(std::upper_bound(offsets_.begin(), offsets_.end(), begin) -
                                    offsets_.begin() - 1);
  while (begin < end) {
    if (offsets_[file + 1] <= begin) {  // empty file
      ++file;
      continue;
    }
    const int64_t stop = std::min(end, offsets_[file + 1]);
    reader(file).read(begin - offsets_[file], stop - offsets_[file], x, y);
    x += (stop - begin) * sentence_size_;
    y += stop - begin;
    begin = stop;
    ++file;
  }
}

}  // namespace distgru::data
