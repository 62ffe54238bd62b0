#include "data/prepare.h"

#include <gtest/gtest.h>

#include <algorithm>
#include <functional>

#include "common/error.h"
#include "data/dataset.h"
#include "common/file_system.h"
#include "data/manifest.h"
#include "data/shard.h"
#include "data/vocabulary.h"
#include "test_util.h"

namespace distgru::data {
namespace {

using testing::TempDir;

constexpr int kPerClass = 100;  // 200 train, 200 test reviews

PrepareOptions options(const std::string& source, const std::string& out) {
  PrepareOptions opt;
  opt.source = source;
  opt.out_dir = out;
  opt.shards = 3;
  opt.test_shards = 2;
  opt.vocab_size = 30;
  opt.sentence_size = 12;
  opt.seed = 7;
  return opt;
}

std::vector<std::string> file_names(const std::string& dir) {
  std::vector<std::string> names;
  for (const auto& e : testing::fs::directory_iterator(dir)) names.push_back(e.path().filename());
  std::sort(names.begin(), names.end());
  return names;
}

TEST(ShuffledOrder, FixedAcrossPlatforms) {
  // mt19937_64's sequence is fixed by the standard and the bounded draw is
  // ours, so these values hold on every platform.
  EXPECT_EQ(shuffled_order(0, 1), std::vector<size_t>{});
  EXPECT_EQ(shuffled_order(1, 1), std::vector<size_t>{0});
  const std::vector<size_t> order = shuffled_order(10, 42);
  std::vector<size_t> sorted = order;
  std::sort(sorted.begin(), sorted.end());
  EXPECT_EQ(sorted, (std::vector<size_t>{0, 1, 2, 3, 4, 5, 6, 7, 8, 9}));
  EXPECT_EQ(order, (std::vector<size_t>{1, 7, 9, 0, 3, 8, 4, 2, 5, 6}));
  EXPECT_NE(shuffled_order(10, 43), order);
}

TEST(ShardName, Format) {
  EXPECT_EQ(shard_name("train", 1, 4), "train-00001-of-00004.h5");
  EXPECT_EQ(shard_name("test", 0, 1), "test-00000-of-00001.h5");
}

TEST(PrepareImdb, DeterministicShardedBalancedOutput) {
  TempDir work;
  const std::string archive = work.file("mini.tar.gz");
  testing::write_tar_gz(archive, testing::synthetic_corpus(kPerClass));
  const std::string out1 = work.file("out1"), out2 = work.file("out2/nested");

  const PrepareSummary s1 = prepare_imdb(options(archive, out1));
  const PrepareSummary s2 = prepare_imdb(options(archive, out2));
  EXPECT_EQ(s1.train_samples, 2 * kPerClass);
  EXPECT_EQ(s1.test_samples, 2 * kPerClass);
  EXPECT_EQ(s1.vocab_words, s2.vocab_words);
  ASSERT_EQ(s1.files.size(), 7u);  // 3 train + 2 test shards, vocab, manifest
  EXPECT_EQ(testing::fs::path(s1.files.back()).filename(), "manifest.json");

  const std::vector<std::string> names = file_names(out1);
  EXPECT_EQ(names, (std::vector<std::string>{"manifest.json", "test-00000-of-00002.h5",
                                             "test-00001-of-00002.h5", "train-00000-of-00003.h5",
                                             "train-00001-of-00003.h5", "train-00002-of-00003.h5",
                                             "vocab.txt"}));
  EXPECT_EQ(file_names(out2), names);
  for (const std::string& name : names) {
    EXPECT_EQ(sha256_file(out1 + "/" + name), sha256_file(out2 + "/" + name)) << name;
  }

  const Manifest m = load_manifest(out1);
  EXPECT_EQ(m.source, "mini.tar.gz");
  EXPECT_EQ(m.seed, 7u);
  EXPECT_EQ(m.vocab_size, 30);
  std::vector<int64_t> sizes;
  for (const ManifestFile& f : m.files_of("train")) sizes.push_back(f.num_samples);
  EXPECT_EQ(sizes, (std::vector<int64_t>{66, 67, 67}));
  sizes.clear();
  for (const ManifestFile& f : m.files_of("test")) sizes.push_back(f.num_samples);
  EXPECT_EQ(sizes, (std::vector<int64_t>{100, 100}));

  ShardMeta expected;
  expected.vocab_size = 30;
  expected.sentence_size = 12;
  for (const std::string split : {"train", "test"}) {
    ShardedDataset data(out1, split, expected);
    ASSERT_EQ(data.size(), 2 * kPerClass);
    std::vector<int32_t> x(data.size() * 12), y(data.size());
    data.read(0, data.size(), x.data(), y.data());
    EXPECT_EQ(std::count(y.begin(), y.end(), 1), kPerClass);
    for (int64_t r = 0; r < data.size(); ++r) EXPECT_EQ(x[r * 12], TokenIds::kStart);
    // Shuffled: every shard holds both classes in roughly equal numbers.
    int64_t begin = 0;
    for (const ManifestFile& f : m.files_of(split)) {
      const auto positives = std::count(y.begin() + begin, y.begin() + begin + f.num_samples, 1);
      EXPECT_GT(positives, f.num_samples * 3 / 10) << f.name;
      EXPECT_LT(positives, f.num_samples * 7 / 10) << f.name;
      begin += f.num_samples;
    }
  }

  const Vocabulary vocab = Vocabulary::load(out1 + "/vocab.txt");
  EXPECT_EQ(vocab.vocab_size(), 30);
  EXPECT_EQ(vocab.num_words(), 27u);
  // "the" and "of" occur in every review; "br" never becomes a word.
  EXPECT_LT(vocab.id("the"), 10);
  EXPECT_EQ(vocab.id("br"), TokenIds::kOov);
  // Test-only words never enter the vocabulary.
  EXPECT_EQ(vocab.id("test"), TokenIds::kOov);
}

TEST(PrepareImdb, SeedChangesOrder) {
  TempDir work;
  const std::string archive = work.file("mini.tar.gz");
  testing::write_tar_gz(archive, testing::synthetic_corpus(10));
  PrepareOptions a = options(archive, work.file("a")), b = options(archive, work.file("b"));
  a.shards = b.shards = 1;
  a.test_shards = b.test_shards = 1;
  b.seed = 8;
  prepare_imdb(a);
  prepare_imdb(b);
  EXPECT_NE(sha256_file(work.file("a/train-00000-of-00001.h5")),
            sha256_file(work.file("b/train-00000-of-00001.h5")));
  EXPECT_EQ(read_file(work.file("a/vocab.txt")), read_file(work.file("b/vocab.txt")));
}

std::string error_of(const PrepareOptions& opt) {
  try {
    prepare_imdb(opt);
  } catch (const Error& e) {
    return e.what();
  }
  return "(no error)";
}

TEST(PrepareImdb, ValidatesOptions) {
  TempDir work;
  PrepareOptions opt = options(work.file("none.tar.gz"), work.file("out"));
  opt.shards = 0;
  EXPECT_NE(error_of(opt).find("--shards must be at least 1"), std::string::npos);
  opt = options(work.file("none.tar.gz"), work.file("out"));
  opt.vocab_size = 3;
  EXPECT_NE(error_of(opt).find("--vocab-size"), std::string::npos);
  opt = options(work.file("none.tar.gz"), work.file("out"));
  opt.sentence_size = 1;
  EXPECT_NE(error_of(opt).find("--sentence-size"), std::string::npos);
  opt = options(work.file("none.tar.gz"), work.file("out"));
  EXPECT_NE(error_of(opt).find(work.file("none.tar.gz") + ": no such file"), std::string::npos);
  EXPECT_FALSE(testing::fs::exists(work.file("out")));  // nothing created on bad input

  const std::string archive = work.file("mini.tar.gz");
  testing::write_tar_gz(archive, testing::synthetic_corpus(2));
  testing::write_text(work.path() / "file", "x");
  opt = options(archive, work.file("file/out"));
  EXPECT_NE(error_of(opt).find("cannot create output directory"), std::string::npos);
  opt = options(archive, work.file("out"));
  opt.shards = 5;
  EXPECT_NE(error_of(opt).find("5 train shards requested but there are only 4"), std::string::npos);
}

}  // namespace
}  // namespace distgru::data
