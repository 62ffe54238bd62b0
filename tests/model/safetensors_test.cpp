// The safetensors format, byte for byte: a round trip, the layout other
// readers rely on, and malformed files refused by name.
#include "model/safetensors.h"

#include <gtest/gtest.h>

#include <nlohmann/json.hpp>

#include <algorithm>
#include <cstring>

#include "common/error.h"
#include "model/attention_gru.h"

namespace distgru::model {
namespace {

TEST(Safetensors, RoundTripKeepsNamesOrderValuesAndMetadata) {
  SafetensorsFile file;
  file.tensors = {{"b.weight", torch::arange(6, torch::kFloat).reshape({2, 3})},
                  {"a.bias", torch::tensor({1.5, -2.5}, torch::kDouble)},
                  {"ids", torch::tensor({7, 8, 9}, torch::kLong)}};
  file.metadata = {{"format", "pt"}};
  const auto bytes = safetensors_bytes(file);
  const auto back = parse_safetensors(bytes, "test");
  ASSERT_EQ(back.tensors.size(), 3u);
  for (size_t i = 0; i < 3; ++i) {
    EXPECT_EQ(back.tensors[i].first, file.tensors[i].first);  // file order, not the header's sorted keys
    EXPECT_TRUE(torch::equal(back.tensors[i].second, file.tensors[i].second)) << back.tensors[i].first;
  }
  EXPECT_EQ(back.metadata.at("format"), "pt");
}

TEST(Safetensors, TheLayoutOtherReadersExpect) {
  SafetensorsFile file;
  file.tensors = {{"w", torch::tensor({1.0f, 2.0f})}};
  const auto bytes = safetensors_bytes(file);
  uint64_t n = 0;
  for (int i = 7; i >= 0; --i) n = (n << 8) | static_cast<unsigned char>(bytes[static_cast<size_t>(i)]);
  EXPECT_EQ(n % 8, 0u);  // the data starts aligned
  const auto header = nlohmann::json::parse(bytes.substr(8, n));
  EXPECT_EQ(header["w"]["dtype"], "F32");
  EXPECT_EQ(header["w"]["shape"], nlohmann::json::array({2}));
  EXPECT_EQ(header["w"]["data_offsets"], nlohmann::json::array({0, 8}));
  EXPECT_EQ(bytes.size(), 8 + n + 8);
  float second = 0;
  std::memcpy(&second, bytes.data() + 8 + n + 4, 4);  // little-endian floats
  EXPECT_EQ(second, 2.0f);
}

TEST(Safetensors, MalformedFilesAreRefusedByName) {
  EXPECT_THROW(parse_safetensors("abc", "short.safetensors"), Error);
  SafetensorsFile file;
  file.tensors = {{"w", torch::zeros({4})}};
  auto bytes = safetensors_bytes(file);
  try {
    parse_safetensors(bytes.substr(0, bytes.size() - 4), "cut.safetensors");
    FAIL();
  } catch (const Error& e) {
    EXPECT_NE(std::string(e.what()).find("cut.safetensors: tensor w: data_offsets out of range"), std::string::npos)
        << e.what();
  }
}

TEST(Safetensors, AModelsParametersUnderPyTorchsNames) {
  ModelConfig config;
  config.vocab_size = 30;
  config.embed_dim = 4;
  config.hidden_size = 3;
  config.attention_size = 2;
  AttentionGRU a(config), b(config);
  SafetensorsFile file;
  file.tensors = named_tensors(*a);
  std::vector<std::string> names;
  for (const auto& [name, t] : file.tensors) names.push_back(name);
  for (const char* expected : {"embedding.weight", "encoder.weight_ih_l0", "encoder.bias_hh_l0_reverse",
                               "attention_hidden.weight", "attention_score.bias", "classifier.weight"}) {
    EXPECT_NE(std::find(names.begin(), names.end(), expected), names.end()) << expected;
  }
  load_named_tensors(*b, parse_safetensors(safetensors_bytes(file), "m").tensors, "m");
  auto pa = a->parameters(), pb = b->parameters();
  for (size_t i = 0; i < pa.size(); ++i) EXPECT_TRUE(torch::equal(pa[i], pb[i]));
  file.tensors.pop_back();
  EXPECT_THROW(load_named_tensors(*b, file.tensors, "m"), Error);  // a parameter missing
}

}  // namespace
}  // namespace distgru::model
