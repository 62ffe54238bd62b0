#include "train/config.h"

#include <gtest/gtest.h>

#include <cstdio>
#include <filesystem>
#include <fstream>

#include "common/error.h"

namespace distgru::train {
namespace {

ParsedArgs parse(std::vector<std::string> args) {
  std::vector<const char*> argv = {"distgru-train"};
  for (auto& a : args) argv.push_back(a.c_str());
  return parse_train_args(static_cast<int>(argv.size()), argv.data());
}

std::string write_ini(const std::string& name, const std::string& text) {
  auto path = (std::filesystem::temp_directory_path() / name).string();
  std::ofstream(path) << text;
  return path;
}

TEST(Config, TutorialDefaults) {
  auto c = *parse({}).config;
  EXPECT_EQ(c.vocab_size, 20000);
  EXPECT_EQ(c.sentence_size, 256);
  EXPECT_EQ(c.embed_dim, 100);
  EXPECT_EQ(c.hidden_size, 128);
  EXPECT_EQ(c.attention_size, 32);
  EXPECT_EQ(c.batch_size, 128);
  EXPECT_DOUBLE_EQ(c.learning_rate, 1e-3);
  EXPECT_TRUE(c.mask_padding);
}

TEST(Config, CommandLineOverridesFile) {
  auto ini = write_ini("distgru_cfg_a.ini", "lr = 0.01\nbatch-size = 64\nhidden-size = 16\n");
  auto c = *parse({"--config", ini, "--batch-size", "32"}).config;
  EXPECT_DOUBLE_EQ(c.learning_rate, 0.01);
  EXPECT_EQ(c.batch_size, 32);
  EXPECT_EQ(c.hidden_size, 16);
  std::remove(ini.c_str());
}

TEST(Config, HelpListsEveryFlagWithDefaults) {
  auto r = parse({"--help"});
  EXPECT_FALSE(r.config.has_value());
  for (const char* flag : {"--data", "--checkpoint-dir", "--resume", "--eval-every", "--checkpoint-every",
                           "--log-every", "--steps", "--epochs", "--val-fraction", "--backend", "--threads"}) {
    EXPECT_NE(r.help.find(flag), std::string::npos) << flag;
  }
  EXPECT_NE(r.help.find("(=128)"), std::string::npos);
}

TEST(Config, UnknownFlagIsAnError) {
  try {
    parse({"--learning-rate", "0.1"});
    FAIL();
  } catch (const Error& e) {
    EXPECT_NE(std::string(e.what()).find("learning-rate"), std::string::npos) << e.what();
  }
}

TEST(Config, UnknownKeyInFileNamesTheFile) {
  auto ini = write_ini("distgru_cfg_bad.ini", "lr = 0.01\nhiden-size = 3\n");
  try {
    parse({"--config", ini});
    FAIL();
  } catch (const Error& e) {
    EXPECT_NE(std::string(e.what()).find(ini), std::string::npos) << e.what();
    EXPECT_NE(std::string(e.what()).find("hiden-size"), std::string::npos) << e.what();
  }
  std::remove(ini.c_str());
}

TEST(Config, MissingFileAndBadValuesAreErrors) {
  EXPECT_THROW(parse({"--config", "/nonexistent.ini"}), Error);
  EXPECT_THROW(parse({"--batch-size", "zero"}), Error);
  EXPECT_THROW(parse({"--val-fraction", "1.5"}), Error);
  EXPECT_THROW(parse({"--backend", "gloo"}), Error);
}

TEST(Config, IniRoundTripKeepsEverySetting) {
  TrainConfig c;
  c.data_dir = "/data/imdb";
  c.learning_rate = 0.0123456789012345;
  c.hidden_size = 17;
  c.mask_padding = false;
  c.resume = "auto";
  c.seed = 1234567890123ULL;
  auto back = config_from_ini(to_ini(c), "test");
  EXPECT_EQ(to_ini(back), to_ini(c));
  EXPECT_DOUBLE_EQ(back.learning_rate, c.learning_rate);
  EXPECT_FALSE(back.mask_padding);
}

TEST(Config, ShippedConfigsParse) {
  for (const char* name : {"imdb_bigru_attention.ini", "tiny.ini"}) {
    const auto path = std::string(DISTGRU_SOURCE_DIR) + "/configs/" + name;
    auto c = *parse({"--config", path}).config;
    EXPECT_GT(c.batch_size, 0) << name;
  }
}

}  // namespace
}  // namespace distgru::train
