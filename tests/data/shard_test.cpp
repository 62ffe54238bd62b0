#include "data/shard.h"

#include <gtest/gtest.h>

#include <functional>

#include "common/error.h"
#include "test_util.h"

namespace distgru::data {
namespace {

using testing::TempDir;

ShardMeta small_meta(int64_t n, int32_t sentence_size = 5) {
  ShardMeta meta;
  meta.split = "train";
  meta.vocab_size = 1000;
  meta.sentence_size = sentence_size;
  meta.shard_index = 1;
  meta.shard_count = 3;
  meta.num_samples = n;
  return meta;
}

// Row r holds r*10 + c, labels alternate.
void make_rows(int64_t n, int32_t s, std::vector<int32_t>& x, std::vector<int32_t>& y) {
  x.resize(n * s);
  y.resize(n);
  for (int64_t r = 0; r < n; ++r) {
    for (int32_t c = 0; c < s; ++c) x[r * s + c] = static_cast<int32_t>((r * 10 + c) % 1000);
    y[r] = static_cast<int32_t>(r % 2);
  }
}

void expect_error_mentions(const std::function<void()>& f, const std::vector<std::string>& parts) {
  try {
    f();
    FAIL() << "expected distgru::Error";
  } catch (const Error& e) {
    for (const std::string& part : parts) {
      EXPECT_NE(std::string(e.what()).find(part), std::string::npos)
          << "'" << part << "' not in: " << e.what();
    }
  }
}

TEST(Shard, WriteReadRoundTrip) {
  TempDir dir;
  const std::string path = dir.file("train-00001-of-00003.h5");
  std::vector<int32_t> x, y;
  make_rows(10, 5, x, y);
  write_shard(path, small_meta(10), x, y);
  EXPECT_FALSE(testing::fs::exists(path + ".tmp"));

  ShardReader reader(path);
  EXPECT_EQ(reader.path(), path);
  const ShardMeta& m = reader.meta();
  EXPECT_EQ(m.split, "train");
  EXPECT_EQ(m.vocab_size, 1000);
  EXPECT_EQ(m.sentence_size, 5);
  EXPECT_EQ(m.pad_id, 0);
  EXPECT_EQ(m.start_id, 1);
  EXPECT_EQ(m.oov_id, 2);
  EXPECT_EQ(m.index_offset, 2);
  EXPECT_EQ(m.shard_index, 1);
  EXPECT_EQ(m.shard_count, 3);
  EXPECT_EQ(m.num_samples, 10);

  std::vector<int32_t> rx(50), ry(10);
  reader.read(0, 10, rx.data(), ry.data());
  EXPECT_EQ(rx, x);
  EXPECT_EQ(ry, y);
}

TEST(Shard, HyperslabInTheMiddle) {
  TempDir dir;
  const std::string path = dir.file("s.h5");
  std::vector<int32_t> x, y;
  make_rows(600, 4, x, y);  // spans three 256-row chunks
  write_shard(path, small_meta(600, 4), x, y);
  ShardReader reader(path);
  std::vector<int32_t> rx(4 * 300), ry(300);
  reader.read(200, 500, rx.data(), ry.data());
  EXPECT_EQ(rx, std::vector<int32_t>(x.begin() + 800, x.begin() + 2000));
  EXPECT_EQ(ry, std::vector<int32_t>(y.begin() + 200, y.begin() + 500));
  EXPECT_EQ(rx[0], 0);                      // row 200: 2000 % 1000
  EXPECT_EQ(rx[5], 11);                     // row 201, col 1: 2011 % 1000
  reader.read(7, 7, rx.data(), ry.data());  // empty range is fine
  EXPECT_THROW(reader.read(500, 601, rx.data(), ry.data()), Error);
  EXPECT_THROW(reader.read(5, 4, rx.data(), ry.data()), Error);
}

TEST(Shard, EmptyShard) {
  TempDir dir;
  const std::string path = dir.file("empty.h5");
  write_shard(path, small_meta(0), {}, {});
  ShardReader reader(path);
  EXPECT_EQ(reader.meta().num_samples, 0);
}

TEST(Shard, WriteRejectsInconsistentSizes) {
  TempDir dir;
  std::vector<int32_t> x, y;
  make_rows(3, 5, x, y);
  EXPECT_THROW(write_shard(dir.file("a.h5"), small_meta(4), x, y), Error);
  x.pop_back();
  EXPECT_THROW(write_shard(dir.file("a.h5"), small_meta(3), x, y), Error);
}

TEST(Shard, CheckCompatibleNamesEachField) {
  ShardMeta expected = small_meta(10);
  ShardMeta actual = expected;
  EXPECT_NO_THROW(check_compatible(actual, expected, "x.h5"));
  actual.num_samples = 99;  // per-file fields are not compared
  actual.shard_index = 0;
  EXPECT_NO_THROW(check_compatible(actual, expected, "x.h5"));
  actual.vocab_size = 5000;
  expected.vocab_size = 20000;
  expect_error_mentions([&] { check_compatible(actual, expected, "train-00000-of-00002.h5"); },
                        {"train-00000-of-00002.h5: vocab_size is 5000 but the config says 20000"});
  actual.sentence_size = 128;
  actual.split = "test";
  expect_error_mentions(
      [&] { check_compatible(actual, expected, "f.h5"); },
      {"vocab_size is 5000", "sentence_size is 128 but the config says 5", "split is 'test'"});
  expected.split.clear();  // no split expected: not compared
  actual.split = "train";
  actual.vocab_size = 20000;
  actual.sentence_size = 5;
  EXPECT_NO_THROW(check_compatible(actual, expected, "f.h5"));
}

TEST(Shard, ReaderRejectsTokenIdOutOfRange) {
  TempDir dir;
  const std::string path = dir.file("bad.h5");
  std::vector<int32_t> x, y;
  make_rows(6, 5, x, y);
  x[4 * 5 + 2] = 1000;  // == vocab_size
  write_shard(path, small_meta(6), x, y);
  ShardReader reader(path);
  std::vector<int32_t> rx(30), ry(6);
  EXPECT_NO_THROW(reader.read(0, 4, rx.data(), ry.data()));
  expect_error_mentions([&] { reader.read(2, 6, rx.data(), ry.data()); },
                        {path, "row 4", "token id 1000", "[0, 1000)"});
}

TEST(Shard, ReaderRejectsBadLabel) {
  TempDir dir;
  const std::string path = dir.file("bad_label.h5");
  std::vector<int32_t> x, y;
  make_rows(6, 5, x, y);
  y[3] = 2;
  write_shard(path, small_meta(6), x, y);
  ShardReader reader(path);
  std::vector<int32_t> rx(30), ry(6);
  expect_error_mentions([&] { reader.read(0, 6, rx.data(), ry.data()); },
                        {path, "row 3", "label 2"});
}

TEST(Shard, TruncatedFileFailsNamingIt) {
  TempDir dir;
  const std::string path = dir.file("trunc.h5");
  std::vector<int32_t> x, y;
  make_rows(2000, 16, x, y);
  write_shard(path, small_meta(2000, 16), x, y);
  const auto size = testing::fs::file_size(path);
  testing::fs::resize_file(path, size / 2);
  expect_error_mentions(
      [&] {
        ShardReader reader(path);
        std::vector<int32_t> rx(2000 * 16), ry(2000);
        reader.read(0, 2000, rx.data(), ry.data());
      },
      {path});
}

TEST(Shard, MissingAndNonHdf5Files) {
  TempDir dir;
  expect_error_mentions([&] { ShardReader reader(dir.file("nope.h5")); },
                        {dir.file("nope.h5"), "missing"});
  testing::write_text(dir.file("text.h5"), "not hdf5");
  expect_error_mentions([&] { ShardReader reader(dir.file("text.h5")); },
                        {dir.file("text.h5"), "H5Fopen"});
}

}  // namespace
}  // namespace distgru::data
