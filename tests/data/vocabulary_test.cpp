#include "data/vocabulary.h"

#include <gtest/gtest.h>

#include <fstream>

#include "common/error.h"
#include "common/file_system.h"
#include "test_util.h"

namespace distgru::data {
namespace {

using testing::TempDir;

Vocabulary sample_vocab(int32_t vocab_size) {
  // Ranks: the(5) a(3) b(3) movie(2) zebra(1); "a" before "b" on the tie.
  return Vocabulary::build({{"movie", 2}, {"b", 3}, {"the", 5}, {"a", 3}, {"zebra", 1}},
                           vocab_size);
}

TEST(Vocabulary, RanksByCountThenWord) {
  Vocabulary v = sample_vocab(100);
  EXPECT_EQ(v.vocab_size(), 100);
  EXPECT_EQ(v.num_words(), 5u);
  EXPECT_EQ(v.id("the"), 3);
  EXPECT_EQ(v.id("a"), 4);
  EXPECT_EQ(v.id("b"), 5);
  EXPECT_EQ(v.id("movie"), 6);
  EXPECT_EQ(v.id("zebra"), 7);
  EXPECT_EQ(v.id("unknown"), TokenIds::kOov);
  EXPECT_EQ(v.word(0), "<pad>");
  EXPECT_EQ(v.word(1), "<start>");
  EXPECT_EQ(v.word(2), "<oov>");
  EXPECT_EQ(v.word(5), "b");
  EXPECT_THROW(v.word(8), Error);
  EXPECT_THROW(v.word(-1), Error);
}

TEST(Vocabulary, TiesUseBytewiseOrder) {
  // Bytes >= 0x80 sort after ASCII (unsigned comparison).
  Vocabulary v = Vocabulary::build({{"\xc3\xa9t\xc3\xa9", 1}, {"zoo", 1}, {"Zoo", 1}}, 10);
  EXPECT_EQ(v.word(3), "Zoo");
  EXPECT_EQ(v.word(4), "zoo");
  EXPECT_EQ(v.word(5), "\xc3\xa9t\xc3\xa9");
}

TEST(Vocabulary, OnlyIdsBelowVocabSizeKept) {
  Vocabulary v = sample_vocab(6);  // ids 3, 4, 5
  EXPECT_EQ(v.num_words(), 3u);
  EXPECT_EQ(v.id("b"), 5);
  EXPECT_EQ(v.id("movie"), TokenIds::kOov);
  EXPECT_EQ(v.id("zebra"), TokenIds::kOov);
  EXPECT_THROW(v.word(6), Error);
}

TEST(Vocabulary, BuildRejectsTinyVocabSize) { EXPECT_THROW(sample_vocab(3), Error); }

TEST(Vocabulary, EncodePadsAtEnd) {
  Vocabulary v = sample_vocab(100);
  EXPECT_EQ(v.encode({"the", "nope", "zebra"}, 6), (std::vector<int32_t>{1, 3, 2, 7, 0, 0}));
  EXPECT_EQ(v.encode({}, 3), (std::vector<int32_t>{1, 0, 0}));
}

TEST(Vocabulary, EncodeTruncatesKeepingBeginningWhenAsked) {
  Vocabulary v = Vocabulary::build({{"movie", 2}, {"b", 3}, {"the", 5}, {"a", 3}, {"zebra", 1}}, 100,
                                   Truncation::kKeepStart);
  EXPECT_EQ(v.encode({"a", "b", "movie", "the", "the"}, 4), (std::vector<int32_t>{1, 4, 5, 6}));
  EXPECT_EQ(v.kept_words(5, 4), (std::vector<size_t>{0, 1, 2}));
}

TEST(Vocabulary, EncodeKeepsTheEndByDefault) {
  Vocabulary v = sample_vocab(100);
  EXPECT_EQ(v.truncation(), Truncation::kKeepEnd);
  // The start token stays; the last 3 words fill the rest.
  EXPECT_EQ(v.encode({"a", "b", "movie", "the", "zebra"}, 4), (std::vector<int32_t>{1, 6, 3, 7}));
  EXPECT_EQ(v.kept_words(5, 4), (std::vector<size_t>{2, 3, 4}));
  EXPECT_EQ(v.kept_words(3, 4), (std::vector<size_t>{0, 1, 2}));  // short reviews are whole
}

TEST(Vocabulary, HeadTailKeepsAQuarterFromTheBeginningAndTheRestFromTheEnd) {
  Vocabulary v = Vocabulary::build({{"w", 1}}, 10, Truncation::kKeepHeadTail);
  // Room for 8 words: 2 from the head, 6 from the tail of 12.
  EXPECT_EQ(v.kept_words(12, 9), (std::vector<size_t>{0, 1, 6, 7, 8, 9, 10, 11}));
  EXPECT_EQ(v.kept_words(9, 9), (std::vector<size_t>{0, 1, 3, 4, 5, 6, 7, 8}));  // one word over
  EXPECT_EQ(v.kept_words(8, 9), (std::vector<size_t>{0, 1, 2, 3, 4, 5, 6, 7}));  // fits: whole
  EXPECT_EQ(v.kept_words(5, 4), (std::vector<size_t>{2, 3, 4}));  // room 3: a quarter is no word
  // The README config's shape: 63 words from the head, 192 from the tail.
  const auto kept = v.kept_words(1000, 256);
  ASSERT_EQ(kept.size(), 255u);
  EXPECT_EQ(kept[62], 62u);
  EXPECT_EQ(kept[63], 1000u - 192u);
  EXPECT_EQ(kept.back(), 999u);
  // Where the lost words start: after the head; nowhere for a review that fits.
  EXPECT_EQ(v.kept_head(1000, 256), 63u);
  EXPECT_EQ(v.kept_head(12, 9), 2u);
  EXPECT_EQ(v.kept_head(8, 9), 8u);
  EXPECT_EQ(Vocabulary::build({{"w", 1}}, 10, Truncation::kKeepEnd).kept_head(12, 9), 0u);
  EXPECT_EQ(Vocabulary::build({{"w", 1}}, 10, Truncation::kKeepStart).kept_head(12, 9), 8u);
  Vocabulary words = Vocabulary::build({{"a", 9}, {"b", 8}, {"c", 7}, {"d", 6}, {"e", 5}}, 10,
                                       Truncation::kKeepHeadTail);
  // ids: a 3, b 4, c 5, d 6, e 7; room 4 of 5 words: 1 head + 3 tail.
  EXPECT_EQ(words.encode({"a", "b", "c", "d", "e"}, 5), (std::vector<int32_t>{1, 3, 5, 6, 7}));
}

TEST(Vocabulary, TruncationSurvivesSaveAndLoad) {
  TempDir dir;
  for (auto mode : {Truncation::kKeepStart, Truncation::kKeepEnd, Truncation::kKeepHeadTail}) {
    Vocabulary::build({{"x", 1}}, 10, mode).save(dir.file("v.txt"));
    EXPECT_EQ(Vocabulary::load(dir.file("v.txt")).truncation(), mode);
  }
  // Files from before the field existed kept the beginning.
  std::ofstream(dir.file("old.txt")) << "# distgru vocab vocab_size=10 index_offset=2\nx\t1\n";
  EXPECT_EQ(Vocabulary::load(dir.file("old.txt")).truncation(), Truncation::kKeepStart);
}

TEST(Vocabulary, SaveLoadRoundTrip) {
  TempDir dir;
  const std::string path = dir.file("vocab.txt");
  sample_vocab(7).save(path);
  EXPECT_EQ(read_file(path),
            "# distgru vocab vocab_size=7 index_offset=2 truncate=end\nthe\t5\na\t3\nb\t3\nmovie\t2\n");
  EXPECT_FALSE(testing::fs::exists(path + ".tmp"));
  Vocabulary v = Vocabulary::load(path);
  EXPECT_EQ(v.vocab_size(), 7);
  EXPECT_EQ(v.num_words(), 4u);
  EXPECT_EQ(v.id("movie"), 6);
  EXPECT_EQ(v.word(4), "a");
}

void expect_load_error(const std::string& content, const std::string& fragment) {
  TempDir dir;
  const std::string path = dir.file("vocab.txt");
  testing::write_text(path, content);
  try {
    Vocabulary::load(path);
    FAIL() << "no error for: " << content;
  } catch (const Error& e) {
    EXPECT_NE(std::string(e.what()).find(path), std::string::npos) << e.what();
    EXPECT_NE(std::string(e.what()).find(fragment), std::string::npos) << e.what();
  }
}

TEST(Vocabulary, LoadRejectsBadFiles) {
  expect_load_error("", "empty file");
  expect_load_error("the\t5\n", ":1: bad header");
  expect_load_error("# distgru vocab vocab_size=10 index_offset=3\n", "index_offset is 3");
  expect_load_error("# distgru vocab vocab_size=10 index_offset=2\nthe 5\n", ":2: expected");
  expect_load_error("# distgru vocab vocab_size=10 index_offset=2\nthe\tx\n", ":2: expected");
  expect_load_error("# distgru vocab vocab_size=10 index_offset=2\na\t1\nb\t2\n", "rank order");
  expect_load_error("# distgru vocab vocab_size=10 index_offset=2\na\t2\na\t1\n", "duplicate");
  expect_load_error("# distgru vocab vocab_size=4 index_offset=2\na\t2\nb\t1\n", "do not fit");
}

TEST(Vocabulary, LoadMissingFileNamesIt) {
  try {
    Vocabulary::load("/nonexistent/vocab.txt");
    FAIL();
  } catch (const Error& e) {
    EXPECT_NE(std::string(e.what()).find("/nonexistent/vocab.txt"), std::string::npos);
  }
}

}  // namespace
}  // namespace distgru::data
