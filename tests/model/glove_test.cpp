#include "model/glove.h"

#include <gtest/gtest.h>

#include <cstdio>
#include <filesystem>
#include <fstream>
#include <unordered_map>

#include "common/error.h"
#include "data/vocabulary.h"

namespace distgru::model {
namespace {

std::string write_file(const std::string& name, const std::string& text) {
  auto path = (std::filesystem::temp_directory_path() / name).string();
  std::ofstream(path) << text;
  return path;
}

data::Vocabulary small_vocab() {
  return data::Vocabulary::build({{"good", 5}, {"bad", 3}, {"film", 1}}, 10);
}

TEST(Glove, CopiesVectorsOfKnownWords) {
  auto vocab = small_vocab();
  auto path = write_file("distgru_glove_ok.txt", "good 1 2 3\nunknown 9 9 9\nbad -1 -2 -3.5\n");
  auto weight = torch::zeros({10, 3});
  auto stats = load_glove(path, vocab, weight);
  EXPECT_EQ(stats.lines, 3);
  EXPECT_EQ(stats.matched, 2);
  EXPECT_TRUE(torch::equal(weight[vocab.id("good")], torch::tensor({1.0f, 2.0f, 3.0f})));
  EXPECT_TRUE(torch::equal(weight[vocab.id("bad")], torch::tensor({-1.0f, -2.0f, -3.5f})));
  EXPECT_EQ(weight[vocab.id("film")].abs().sum().item<float>(), 0.0f);
  std::remove(path.c_str());
}

// fastText's .vec: a header "N E" first, then GloVe's lines.
TEST(Glove, ReadsFastTextVecWithItsHeader) {
  auto vocab = small_vocab();
  auto path = write_file("distgru_glove_vec.txt", "3 3\ngood 1 2 3\n</s> 0 0 0\nfilm 4 5 6\n");
  auto weight = torch::zeros({10, 3});
  auto stats = load_glove(path, vocab, weight);
  EXPECT_TRUE(stats.header);
  EXPECT_EQ(stats.lines, 3);
  EXPECT_EQ(stats.matched, 2);
  EXPECT_TRUE(torch::equal(weight[vocab.id("film")], torch::tensor({4.0f, 5.0f, 6.0f})));
  std::remove(path.c_str());
}

TEST(Glove, AVecHeaderOfAnotherSizeOrCountIsRefused) {
  auto vocab = small_vocab();
  auto weight = torch::zeros({10, 3});
  auto wrong_size = write_file("distgru_glove_vec_size.txt", "2 300\ngood 1 2 3\nbad 1 2 3\n");
  try {
    load_glove(wrong_size, vocab, weight);
    FAIL() << "expected an error";
  } catch (const Error& e) {
    EXPECT_NE(std::string(e.what()).find(wrong_size + ":1: the header says 300-dimensional"), std::string::npos)
        << e.what();
  }
  auto truncated = write_file("distgru_glove_vec_count.txt", "5 3\ngood 1 2 3\nbad 1 2 3\n");
  try {
    load_glove(truncated, vocab, weight);
    FAIL() << "expected an error";
  } catch (const Error& e) {
    EXPECT_NE(std::string(e.what()).find("header promises 5 vectors but 2 follow"), std::string::npos) << e.what();
  }
  std::remove(wrong_size.c_str());
  std::remove(truncated.c_str());
}

TEST(Glove, WrongDimensionNamesFileAndLine) {
  auto vocab = small_vocab();
  auto path = write_file("distgru_glove_bad.txt", "good 1 2 3\nbad 1 2\n");
  auto weight = torch::zeros({10, 3});
  try {
    load_glove(path, vocab, weight);
    FAIL() << "expected an error";
  } catch (const Error& e) {
    EXPECT_NE(std::string(e.what()).find(path + ":2"), std::string::npos) << e.what();
    EXPECT_NE(std::string(e.what()).find("embedding size is 3"), std::string::npos) << e.what();
  }
  std::remove(path.c_str());
}

// A vector file holding nan or inf would poison the embedding before the
// first step; each is refused naming the file, the line and the value.
TEST(Glove, NonFiniteValuesNameFileLineAndValue) {
  auto vocab = small_vocab();
  for (const char* bad : {"nan", "inf", "-inf", "1e40"}) {
    auto path = write_file("distgru_glove_nan.txt", std::string("good 1 2 3\nbad 1 ") + bad + " 3\n");
    auto weight = torch::zeros({10, 3});
    try {
      load_glove(path, vocab, weight);
      FAIL() << bad << " was accepted";
    } catch (const Error& e) {
      EXPECT_NE(std::string(e.what()).find(path + ":2: value 2 is '" + bad + "', not a finite number"),
                std::string::npos)
          << e.what();
    }
    std::remove(path.c_str());
  }
}

TEST(Glove, MissingFileIsAnError) {
  auto vocab = small_vocab();
  auto weight = torch::zeros({10, 3});
  EXPECT_THROW(load_glove("/nonexistent/glove.txt", vocab, weight), Error);
}

}  // namespace
}  // namespace distgru::model
