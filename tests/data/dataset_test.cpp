#include "data/dataset.h"

#include <gtest/gtest.h>

#include <fstream>
#include <functional>

#include "common/error.h"
#include "common/file_system.h"
#include "test_util.h"

namespace distgru::data {
namespace {

using testing::TempDir;

constexpr int32_t kSentence = 3;
constexpr int32_t kVocab = 500;

// Writes shards of the given sizes (rows numbered globally: row g holds
// g, g+1, g+2; label g % 2) plus a manifest into `dir`.
void write_dataset(const TempDir& dir, const std::vector<int64_t>& sizes,
                   std::vector<int32_t>& all_x, std::vector<int32_t>& all_y) {
  Manifest manifest;
  manifest.vocab_size = kVocab;
  manifest.sentence_size = kSentence;
  manifest.start_id = 1;
  manifest.oov_id = 2;
  manifest.index_offset = 2;
  manifest.source = "synthetic";
  int64_t global = 0;
  for (size_t i = 0; i < sizes.size(); ++i) {
    std::vector<int32_t> x, y;
    for (int64_t r = 0; r < sizes[i]; ++r, ++global) {
      for (int32_t c = 0; c < kSentence; ++c) x.push_back(static_cast<int32_t>(global + c));
      y.push_back(static_cast<int32_t>(global % 2));
    }
    all_x.insert(all_x.end(), x.begin(), x.end());
    all_y.insert(all_y.end(), y.begin(), y.end());
    ShardMeta meta;
    meta.split = "train";
    meta.vocab_size = kVocab;
    meta.sentence_size = kSentence;
    meta.shard_index = static_cast<int32_t>(i);
    meta.shard_count = static_cast<int32_t>(sizes.size());
    meta.num_samples = sizes[i];
    const std::string name = "train-0000" + std::to_string(i) + ".h5";
    write_shard(dir.file(name), meta, x, y);
    manifest.files.push_back(
        {name, "train", sizes[i], sha256_file(dir.file(name)), file_size(dir.file(name))});
  }
  save_manifest(dir.path().string(), manifest);
}

ShardMeta expected_meta() {
  ShardMeta meta;
  meta.vocab_size = kVocab;
  meta.sentence_size = kSentence;
  return meta;
}

std::string error_of(const std::function<void()>& f) {
  try {
    f();
  } catch (const Error& e) {
    return e.what();
  }
  return "(no error)";
}

TEST(ShardedDataset, RangeSpanningFilesEqualsConcatenation) {
  TempDir dir;
  std::vector<int32_t> all_x, all_y;
  write_dataset(dir, {10, 0, 7, 5}, all_x, all_y);
  ShardedDataset data(dir.path().string(), "train", expected_meta());
  EXPECT_EQ(data.size(), 22);
  EXPECT_EQ(data.sentence_size(), kSentence);
  for (auto [begin, end] : std::vector<std::pair<int64_t, int64_t>>{
           {0, 22}, {8, 12}, {10, 17}, {3, 20}, {16, 22}, {21, 22}, {5, 5}}) {
    std::vector<int32_t> x((end - begin) * kSentence), y(end - begin);
    data.read(begin, end, x.data(), y.data());
    EXPECT_EQ(
        x, std::vector<int32_t>(all_x.begin() + begin * kSentence, all_x.begin() + end * kSentence))
        << begin << ".." << end;
    EXPECT_EQ(y, std::vector<int32_t>(all_y.begin() + begin, all_y.begin() + end));
  }
  std::vector<int32_t> x(100), y(100);
  EXPECT_THROW(data.read(20, 23, x.data(), y.data()), Error);
}

TEST(ShardedDataset, ChecksumMismatchAndMissingFile) {
  TempDir dir;
  std::vector<int32_t> all_x, all_y;
  write_dataset(dir, {4, 4}, all_x, all_y);
  const std::string second = dir.file("train-00001.h5");
  {
    // Flip one byte, keeping the size.
    std::fstream f(second, std::ios::in | std::ios::out | std::ios::binary);
    f.seekg(100);
    const char c = static_cast<char>(f.get());
    f.seekp(100);
    f.put(static_cast<char>(c ^ 0x55));
  }
  EXPECT_NE(error_of([&] {
              ShardedDataset d(dir.path().string(), "train", expected_meta());
            }).find(second + ": checksum mismatch (truncated or corrupted?)"),
            std::string::npos);
  testing::fs::resize_file(second, 10);
  EXPECT_NE(error_of([&] {
              ShardedDataset d(dir.path().string(), "train", expected_meta(), false);
            }).find(second + ": size mismatch (truncated or rewritten?): 10 bytes, manifest.json says"),
            std::string::npos);
  testing::fs::remove(second);
  EXPECT_NE(error_of([&] {
              ShardedDataset d(dir.path().string(), "train", expected_meta());
            }).find(second + ": missing"),
            std::string::npos);
}

TEST(ShardedDataset, IncompatibleConfigNamesField) {
  TempDir dir;
  std::vector<int32_t> all_x, all_y;
  write_dataset(dir, {4}, all_x, all_y);
  ShardMeta expected = expected_meta();
  expected.vocab_size = 20000;
  const std::string err =
      error_of([&] { ShardedDataset d(dir.path().string(), "train", expected); });
  EXPECT_NE(err.find("train-00000.h5: vocab_size is 500 but the config says 20000"),
            std::string::npos)
      << err;
  EXPECT_NE(error_of([&] {
              ShardedDataset d(dir.path().string(), "test", expected_meta());
            }).find("no files for split 'test'"),
            std::string::npos);
}

}  // namespace
}  // namespace distgru::data
