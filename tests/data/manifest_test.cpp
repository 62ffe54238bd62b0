#include "data/manifest.h"

#include <gtest/gtest.h>

#include "common/error.h"
#include "common/file_system.h"
#include "test_util.h"

namespace distgru::data {
namespace {

using testing::TempDir;

const std::string kSha(64, 'a');

Manifest sample_manifest() {
  Manifest m;
  m.vocab_size = 20000;
  m.sentence_size = 256;
  m.pad_id = 0;
  m.start_id = 1;
  m.oov_id = 2;
  m.index_offset = 2;
  m.seed = 18446744073709551615ULL;  // uint64 max survives JSON
  m.source = "aclImdb_v1.tar.gz";
  m.files = {{"train-00000-of-00002.h5", "train", 12500, kSha, 1234},
             {"train-00001-of-00002.h5", "train", 12499, kSha, -1},
             {"test-00000-of-00001.h5", "test", 25000, kSha, 99}};
  return m;
}

TEST(Manifest, RoundTrip) {
  TempDir dir;
  save_manifest(dir.path().string(), sample_manifest());
  const Manifest m = load_manifest(dir.path().string());
  EXPECT_EQ(m.vocab_size, 20000);
  EXPECT_EQ(m.sentence_size, 256);
  EXPECT_EQ(m.start_id, 1);
  EXPECT_EQ(m.oov_id, 2);
  EXPECT_EQ(m.index_offset, 2);
  EXPECT_EQ(m.seed, 18446744073709551615ULL);
  EXPECT_EQ(m.source, "aclImdb_v1.tar.gz");
  ASSERT_EQ(m.files.size(), 3u);
  EXPECT_EQ(m.files[1].name, "train-00001-of-00002.h5");
  EXPECT_EQ(m.files[1].bytes, -1);
  EXPECT_EQ(m.files[0].bytes, 1234);
  EXPECT_EQ(m.num_samples("train"), 24999);
  EXPECT_EQ(m.num_samples("test"), 25000);
  EXPECT_EQ(m.num_samples("other"), 0);
  const auto train = m.files_of("train");
  ASSERT_EQ(train.size(), 2u);
  EXPECT_EQ(train[0].name, "train-00000-of-00002.h5");
  EXPECT_EQ(train[1].name, "train-00001-of-00002.h5");
}

TEST(Manifest, StableText) {
  TempDir a, b;
  save_manifest(a.path().string(), sample_manifest());
  save_manifest(b.path().string(), sample_manifest());
  const std::string text = read_file(a.file("manifest.json"));
  EXPECT_EQ(text, read_file(b.file("manifest.json")));
  // Sorted keys, pretty-printed.
  EXPECT_EQ(text.rfind("{\n  \"files\": [", 0), 0u) << text;
  EXPECT_LT(text.find("\"index_offset\""), text.find("\"seed\""));
}

void expect_load_error(const std::string& json, const std::string& fragment) {
  TempDir dir;
  testing::write_text(dir.path() / "manifest.json", json);
  try {
    load_manifest(dir.path().string());
    FAIL() << json;
  } catch (const Error& e) {
    EXPECT_NE(std::string(e.what()).find("manifest.json"), std::string::npos) << e.what();
    EXPECT_NE(std::string(e.what()).find(fragment), std::string::npos) << e.what();
  }
}

TEST(Manifest, LoadErrors) {
  TempDir empty;
  try {
    load_manifest(empty.path().string());
    FAIL();
  } catch (const Error& e) {
    EXPECT_NE(std::string(e.what()).find("manifest.json: missing"), std::string::npos);
  }
  expect_load_error("{not json", "invalid JSON");
  expect_load_error("[]", "expected a JSON object");
  expect_load_error(R"({"format_version": 1})", "missing field 'vocab_size'");
  expect_load_error(R"({"format_version": 2})", "format_version 2");
  const std::string head =
      R"({"format_version":1,"vocab_size":10,"sentence_size":4,"pad_id":0,"start_id":1,)"
      R"("oov_id":2,"index_offset":2,"seed":1,"source":"s","files":)";
  expect_load_error(head + R"("x"})", "'files' must be an array");
  expect_load_error(
      head + R"([{"name":"../x.h5","split":"train","num_samples":1,"sha256":")" + kSha + R"("}]})",
      "bad file name");
  expect_load_error(
      head + R"([{"name":"x.h5","split":"dev","num_samples":1,"sha256":")" + kSha + R"("}]})",
      "split must be");
  expect_load_error(
      head + R"([{"name":"x.h5","split":"test","num_samples":"1","sha256":")" + kSha + R"("}]})",
      "'num_samples' has the wrong type");
  expect_load_error(head + R"([{"name":"x.h5","split":"test","num_samples":1,"sha256":"ab"}]})",
                    "sha256");
}

TEST(Sha256, KnownValues) {
  TempDir dir;
  testing::write_text(dir.path() / "empty", "");
  testing::write_text(dir.path() / "abc", "abc");
  EXPECT_EQ(sha256_file(dir.file("empty")),
            "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855");
  EXPECT_EQ(sha256_file(dir.file("abc")),
            "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad");
  EXPECT_THROW(sha256_file(dir.file("missing")), Error);
}

}  // namespace
}  // namespace distgru::data
