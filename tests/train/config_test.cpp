#include "train/config.h"

#include <gtest/gtest.h>

#include <algorithm>
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

std::string error_of(std::vector<std::string> args) {
  try {
    parse(std::move(args));
  } catch (const Error& e) {
    return e.what();
  }
  return "(no error)";
}

TEST(Config, UnknownChoicesListTheValidValues) {
  // An unknown --select-metric once meant accuracy without a word.
  EXPECT_NE(error_of({"--select-metric", "f1"}).find("'f1' is not a value of '--select-metric': expected accuracy, auc or loss"),
            std::string::npos) << error_of({"--select-metric", "f1"});
  EXPECT_NE(error_of({"--lr-schedule", "step"}).find("expected constant, linear or cosine"), std::string::npos);
  EXPECT_NE(error_of({"--backend", "gloo"}).find("expected auto, mpi or nccl"), std::string::npos);
  auto ini = write_ini("distgru_cfg_choice.ini", "select-metric = precision\n");
  const auto from_file = error_of({"--config", ini});
  EXPECT_NE(from_file.find(ini), std::string::npos) << from_file;
  EXPECT_NE(from_file.find("expected accuracy, auc or loss"), std::string::npos) << from_file;
  std::remove(ini.c_str());
  EXPECT_EQ(parse({"--select-metric", "auc"}).config->select_metric, SelectMetric::kAuc);
}

TEST(Config, NonFiniteAndOutOfRangeValuesNameTheKeyAndWhereTheyCameFrom) {
  EXPECT_NE(error_of({"--lr", "inf"}).find("--lr must be positive and finite, not inf"), std::string::npos)
      << error_of({"--lr", "inf"});
  EXPECT_NE(error_of({"--lr", "nan"}).find("--lr must be positive and finite"), std::string::npos);
  EXPECT_NE(error_of({"--clip-grad-norm", "-1"}).find("--clip-grad-norm must be finite and not negative, not -1"),
            std::string::npos);
  EXPECT_NE(error_of({"--lr-final-fraction", "2"}).find("--lr-final-fraction must be in [0, 1], not 2"),
            std::string::npos);
  auto ini = write_ini("distgru_cfg_inf.ini", "lr = inf\n");
  const auto from_file = error_of({"--config", ini});
  EXPECT_NE(from_file.find("--lr must be positive and finite, not inf (from " + ini + ")"), std::string::npos)
      << from_file;
  // The command line overrides the file, and then the file is not blamed.
  EXPECT_NE(error_of({"--config", ini, "--lr", "-1"}).find("not -1"), std::string::npos);
  EXPECT_EQ(error_of({"--config", ini, "--lr", "-1"}).find("(from"), std::string::npos);
  std::remove(ini.c_str());
}

// Every field set away from its default, written as INI and parsed back:
// each field must come back. Dropping a key from the written INI (or adding
// a setting without a row) fails here.
TEST(Config, IniRoundTripKeepsEverySetting) {
  TrainConfig c;
  c.data_dir = "/data/imdb";
  c.checkpoint_dir = "/runs/a";
  c.glove = "/vectors/glove.txt";
  c.verify_checksums = false;
  c.score_test = false;
  c.vocab_size = 5000;
  c.sentence_size = 64;
  c.embed_dim = 7;
  c.hidden_size = 17;
  c.attention_size = 5;
  c.mask_padding = false;
  c.batch_size = 96;
  c.learning_rate = 0.0123456789012345;
  c.lr_schedule = LrSchedule::kCosine;
  c.warmup_steps = 11;
  c.lr_final_fraction = 0.1;
  c.clip_grad_norm = 2.5;
  c.epochs = 9;
  c.steps = 123;
  c.seed = 1234567890123ULL;
  c.val_fraction = 0.2;
  c.select_metric = SelectMetric::kLoss;
  c.log_every = 3;
  c.eval_every = 40;
  c.checkpoint_every = 60;
  c.keep_checkpoints = 5;
  c.resume = "auto";
  c.allow_data_change = true;
  c.eval_batch_size = 33;
  c.tensorboard = false;
  c.sample_log = true;
  c.weight_decay = 0.0125;
  c.early_stop_patience = 3;
  c.dropout_word = 0.1;
  c.dropout_embedding = 0.2;
  c.dropout_encoder = 0.3;
  c.dropout_output = 0.4;
  c.adversarial_epsilon = 0.75;
  c.trace_steps = "5:8";
  c.runtime.backend = dist::Backend::kMpi;
  c.runtime.threads = 2;
  c.runtime.collective_timeout = 77;
  c.runtime.stall_warning = 7;
  c.bucket_mb = 0.25;
  c.overlap_sync = false;
  c.sparse_embedding = true;
  c.bf16_allreduce = true;
  const auto b = config_from_ini(to_ini(c), "test");
  EXPECT_EQ(b.data_dir, c.data_dir);
  EXPECT_EQ(b.checkpoint_dir, c.checkpoint_dir);
  EXPECT_EQ(b.glove, c.glove);
  EXPECT_EQ(b.verify_checksums, c.verify_checksums);
  EXPECT_EQ(b.score_test, c.score_test);
  EXPECT_EQ(b.vocab_size, c.vocab_size);
  EXPECT_EQ(b.sentence_size, c.sentence_size);
  EXPECT_EQ(b.embed_dim, c.embed_dim);
  EXPECT_EQ(b.hidden_size, c.hidden_size);
  EXPECT_EQ(b.attention_size, c.attention_size);
  EXPECT_EQ(b.mask_padding, c.mask_padding);
  EXPECT_EQ(b.batch_size, c.batch_size);
  EXPECT_EQ(b.learning_rate, c.learning_rate);  // exactly: the INI keeps every bit
  EXPECT_EQ(b.lr_schedule, c.lr_schedule);
  EXPECT_EQ(b.warmup_steps, c.warmup_steps);
  EXPECT_EQ(b.lr_final_fraction, c.lr_final_fraction);
  EXPECT_EQ(b.clip_grad_norm, c.clip_grad_norm);
  EXPECT_EQ(b.epochs, c.epochs);
  EXPECT_EQ(b.steps, c.steps);
  EXPECT_EQ(b.seed, c.seed);
  EXPECT_EQ(b.val_fraction, c.val_fraction);
  EXPECT_EQ(b.select_metric, c.select_metric);
  EXPECT_EQ(b.log_every, c.log_every);
  EXPECT_EQ(b.eval_every, c.eval_every);
  EXPECT_EQ(b.checkpoint_every, c.checkpoint_every);
  EXPECT_EQ(b.keep_checkpoints, c.keep_checkpoints);
  EXPECT_EQ(b.resume, c.resume);
  EXPECT_EQ(b.allow_data_change, c.allow_data_change);
  EXPECT_EQ(b.eval_batch_size, c.eval_batch_size);
  EXPECT_EQ(b.tensorboard, c.tensorboard);
  EXPECT_EQ(b.sample_log, c.sample_log);
  EXPECT_EQ(b.weight_decay, c.weight_decay);
  EXPECT_EQ(b.early_stop_patience, c.early_stop_patience);
  EXPECT_EQ(b.dropout_word, c.dropout_word);
  EXPECT_EQ(b.dropout_embedding, c.dropout_embedding);
  EXPECT_EQ(b.dropout_encoder, c.dropout_encoder);
  EXPECT_EQ(b.dropout_output, c.dropout_output);
  EXPECT_EQ(b.adversarial_epsilon, c.adversarial_epsilon);
  EXPECT_EQ(b.trace_steps, c.trace_steps);
  EXPECT_EQ(b.runtime.backend, c.runtime.backend);
  EXPECT_EQ(b.runtime.threads, c.runtime.threads);
  EXPECT_EQ(b.runtime.collective_timeout, c.runtime.collective_timeout);
  EXPECT_EQ(b.runtime.stall_warning, c.runtime.stall_warning);
  EXPECT_EQ(b.bucket_mb, c.bucket_mb);
  EXPECT_EQ(b.overlap_sync, c.overlap_sync);
  EXPECT_EQ(b.sparse_embedding, c.sparse_embedding);
  EXPECT_EQ(b.bf16_allreduce, c.bf16_allreduce);
}

// Every flag --help lists is a key of the written INI, once.
TEST(Config, IniHasEveryFlagOfTheHelp) {
  const auto help = parse({"--help"}).help;
  const auto ini = "\n" + to_ini(TrainConfig());
  size_t flags = 0;
  for (size_t at = help.find("\n  --"); at != std::string::npos; at = help.find("\n  --", at + 1)) {
    const auto end = help.find_first_of(" \n", at + 5);
    const auto key = help.substr(at + 5, end - at - 5);
    if (key == "help" || key == "config") continue;
    ++flags;
    EXPECT_NE(ini.find("\n" + key + " = "), std::string::npos) << key;
  }
  EXPECT_EQ(flags, train_settings().rows().size());
  EXPECT_EQ(static_cast<size_t>(std::count(ini.begin(), ini.end(), '\n')), train_settings().rows().size() + 1);
}

TEST(Config, ModelDifferencesComeFromTheModelRows) {
  TrainConfig a, b;
  b.hidden_size = 64;
  b.learning_rate = 0.5;  // not part of the model
  EXPECT_EQ(model_differences(a, b), "hidden-size 128 vs 64");
  b.mask_padding = false;
  EXPECT_EQ(model_differences(a, b), "hidden-size 128 vs 64, mask-padding true vs false");
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
