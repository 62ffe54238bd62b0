#include "data/imdb_reader.h"

#include <gtest/gtest.h>

#include "common/error.h"
#include "test_util.h"

namespace distgru::data {
namespace {

using testing::Entries;
using testing::TempDir;

const Entries kEntries = {
    {"aclImdb/README", "readme"},
    {"aclImdb/imdb.vocab", "the\nand\n"},
    {"aclImdb/train/pos/2_9.txt", "Great film"},
    {"aclImdb/train/pos/10_7.txt", "Good"},
    {"aclImdb/train/neg/1_1.txt", "Bad"},
    {"aclImdb/train/unsup/5_0.txt", "unlabeled, must be ignored"},
    {"aclImdb/train/labeledBow.feat", "0:1"},
    {"aclImdb/test/neg/3_2.txt", "Awful"},
    {"aclImdb/test/pos/4_10.txt", "Caf\xc3\xa9 scene"},
    {"aclImdb/test/pos/notes.md", "not a review"},
};

void expect_corpus(const ImdbCorpus& c) {
  ASSERT_EQ(c.train.size(), 3u);
  ASSERT_EQ(c.test.size(), 2u);
  // Sorted by path (bytewise): "neg" < "pos", "10_7" < "2_9".
  EXPECT_EQ(c.train[0].path, "train/neg/1_1.txt");
  EXPECT_EQ(c.train[0].label, 0);
  EXPECT_EQ(c.train[0].text, "Bad");
  EXPECT_EQ(c.train[1].path, "train/pos/10_7.txt");
  EXPECT_EQ(c.train[1].label, 1);
  EXPECT_EQ(c.train[2].path, "train/pos/2_9.txt");
  EXPECT_EQ(c.train[2].text, "Great film");
  EXPECT_EQ(c.test[0].path, "test/neg/3_2.txt");
  EXPECT_EQ(c.test[1].path, "test/pos/4_10.txt");
  EXPECT_EQ(c.test[1].text, "Caf\xc3\xa9 scene");
  EXPECT_EQ(c.test[1].label, 1);
}

std::string error_of(const std::string& source) {
  try {
    read_imdb(source);
  } catch (const Error& e) {
    return e.what();
  }
  return "(no error)";
}

TEST(ImdbReader, DirectoryAndItsParent) {
  TempDir dir;
  testing::write_tree(dir.path(), kEntries);
  expect_corpus(read_imdb(dir.path().string()));
  expect_corpus(read_imdb((dir.path() / "aclImdb").string()));
}

TEST(ImdbReader, TarGzArchive) {
  TempDir dir;
  const std::string archive = dir.file("imdb.tar.gz");
  testing::write_tar_gz(archive, kEntries);
  expect_corpus(read_imdb(archive));
}

TEST(ImdbReader, ArchiveWithLeadingDotSlash) {
  TempDir dir;
  Entries entries;
  for (const auto& [name, text] : kEntries) entries.emplace_back("./" + name, text);
  const std::string archive = dir.file("imdb.tar.gz");
  testing::write_tar_gz(archive, entries);
  expect_corpus(read_imdb(archive));
}

TEST(ImdbReader, ArchiveWithoutReviewsFails) {
  TempDir dir;
  const std::string archive = dir.file("empty.tar.gz");
  testing::write_tar_gz(archive, {{"aclImdb/README", "x"}, {"aclImdb/train/unsup/1_0.txt", "u"}});
  EXPECT_NE(error_of(archive).find(archive + ": no reviews found under aclImdb/train/{pos,neg}"),
            std::string::npos)
      << error_of(archive);
}

TEST(ImdbReader, MissingTestSplitFails) {
  TempDir dir;
  testing::write_tree(dir.path(), {{"aclImdb/train/pos/1_9.txt", "ok"}});
  EXPECT_NE(error_of(dir.path().string()).find("no reviews found under aclImdb/test/{pos,neg}"),
            std::string::npos);
}

TEST(ImdbReader, MissingAndCorruptSources) {
  TempDir dir;
  EXPECT_NE(error_of(dir.file("nope.tar.gz")).find(dir.file("nope.tar.gz")), std::string::npos);
  testing::write_text(dir.path() / "junk.tar.gz", std::string(1000, 'j'));
  const std::string junk = error_of(dir.file("junk.tar.gz"));
  EXPECT_NE(junk.find(dir.file("junk.tar.gz") + ": "), std::string::npos) << junk;

  // A truncated gzip stream fails with libarchive's message.
  const std::string archive = dir.file("cut.tar.gz");
  testing::write_tar_gz(archive, testing::synthetic_corpus(200));
  testing::fs::resize_file(archive, testing::fs::file_size(archive) / 2);
  const std::string cut = error_of(archive);
  EXPECT_NE(cut.find(archive + ": "), std::string::npos) << cut;
  EXPECT_EQ(cut.find("(no error)"), std::string::npos);
}

TEST(ImdbReader, RealArchive) {
  const std::string archive = DISTGRU_IMDB_ARCHIVE;
  if (!testing::fs::exists(archive)) GTEST_SKIP() << archive << " not present";
  const ImdbCorpus corpus = read_imdb(archive);
  ASSERT_EQ(corpus.train.size(), 25000u);
  ASSERT_EQ(corpus.test.size(), 25000u);
  for (const auto* split : {&corpus.train, &corpus.test}) {
    int64_t positives = 0;
    for (const Review& r : *split) positives += r.label;
    EXPECT_EQ(positives, 12500);
  }
  EXPECT_EQ(corpus.train.front().path, "train/neg/0_3.txt");
  EXPECT_FALSE(corpus.train.front().text.empty());
}

}  // namespace
}  // namespace distgru::data
