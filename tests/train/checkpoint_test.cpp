#include "train/checkpoint.h"

#include <gtest/gtest.h>

#include <cmath>
#include <filesystem>
#include <fstream>

#include "common/error.h"
#include "model/attention_gru.h"
#include "train/config.h"

namespace fs = std::filesystem;

namespace distgru::train {
namespace {

class CheckpointTest : public ::testing::Test {
 protected:
  void SetUp() override {
    dir_ = fs::temp_directory_path() /
           ("distgru_ckpt_test_" + std::to_string(::getpid()) + "_" +
            ::testing::UnitTest::GetInstance()->current_test_info()->name());
    fs::remove_all(dir_);
    fs::create_directories(dir_);
    config_.vocab_size = 40;
    config_.embed_dim = 4;
    config_.hidden_size = 3;
    config_.attention_size = 2;
  }
  void TearDown() override { fs::remove_all(dir_); }

  model::AttentionGRU make_model(int seed) {
    torch::manual_seed(seed);
    return model::AttentionGRU(model_config(config_));
  }

  // One Adam step so the optimiser has state worth saving.
  void train_one_step(model::AttentionGRU& m, torch::optim::Adam& opt) {
    opt.zero_grad();
    auto out = m->forward(torch::tensor({{1, 5, 7, 0}}, torch::kLong));
    torch::nn::functional::cross_entropy(out.logits, torch::tensor({1}, torch::kLong)).backward();
    opt.step();
  }

  fs::path dir_;
  TrainConfig config_;
};

TEST_F(CheckpointTest, RoundTripRestoresModelOptimiserStateAndConfig) {
  auto a = make_model(1);
  torch::optim::Adam opt_a(a->parameters(), torch::optim::AdamOptions(0.01));
  train_one_step(a, opt_a);
  TrainState state;
  state.step = 7;
  state.position.epoch = 2;
  state.position.step_in_epoch = 3;
  state.position.world_size = 2;
  state.position.global_batch = 16;
  state.best_metric = 0.875;
  state.best_step = 5;
  const auto path = (dir_ / checkpoint_name(7)).string();
  save_checkpoint(path, *a, &opt_a, state, to_ini(config_));
  EXPECT_FALSE(fs::exists(path + ".tmp"));

  auto b = make_model(2);
  torch::optim::Adam opt_b(b->parameters(), torch::optim::AdamOptions(0.01));
  auto contents = load_checkpoint(path, *b, &opt_b);
  EXPECT_EQ(contents.state.step, 7);
  EXPECT_EQ(contents.state.position.epoch, 2);
  EXPECT_EQ(contents.state.position.step_in_epoch, 3);
  EXPECT_EQ(contents.state.position.world_size, 2);
  EXPECT_EQ(contents.state.position.global_batch, 16);
  EXPECT_DOUBLE_EQ(contents.state.best_metric, 0.875);
  EXPECT_EQ(contents.state.best_step, 5);
  EXPECT_EQ(contents.config_ini, to_ini(config_));
  auto pa = a->parameters(), pb = b->parameters();
  for (size_t i = 0; i < pa.size(); ++i) EXPECT_TRUE(torch::equal(pa[i], pb[i]));

  // Optimiser state came back too: the next step is identical.
  train_one_step(a, opt_a);
  train_one_step(b, opt_b);
  pa = a->parameters();
  pb = b->parameters();
  for (size_t i = 0; i < pa.size(); ++i) EXPECT_TRUE(torch::equal(pa[i], pb[i]));
}

// --ema-decay's average rides in step checkpoints beside the parameters, and
// best.pt records whether it holds the average; files without one load an
// empty average (and the flag false).
TEST_F(CheckpointTest, WeightAverageAndBestAveragedRoundTrip) {
  auto m = make_model(1);
  std::vector<torch::Tensor> average;
  for (const auto& p : m->parameters()) average.push_back(torch::randn_like(p));
  TrainState state;
  state.step = 3;
  state.best_averaged = true;
  const auto path = (dir_ / checkpoint_name(3)).string();
  save_checkpoint(path, *m, nullptr, state, to_ini(config_), FileSystem::local(), average);
  auto b = make_model(2);
  const auto contents = load_checkpoint(path, *b, nullptr);
  EXPECT_TRUE(contents.state.best_averaged);
  ASSERT_EQ(contents.weight_average.size(), average.size());
  for (size_t i = 0; i < average.size(); ++i) EXPECT_TRUE(torch::equal(contents.weight_average[i], average[i])) << i;
  EXPECT_TRUE(read_checkpoint_header(path).state.best_averaged);

  const auto plain = (dir_ / checkpoint_name(4)).string();
  save_checkpoint(plain, *m, nullptr, {}, to_ini(config_));
  const auto none = load_checkpoint(plain, *b, nullptr);
  EXPECT_TRUE(none.weight_average.empty());
  EXPECT_FALSE(none.state.best_averaged);
}

TEST_F(CheckpointTest, LatestPointerAndPruning) {
  auto m = make_model(3);
  EXPECT_FALSE(find_latest_checkpoint(dir_.string()).has_value());
  for (int64_t step : {10, 20, 30, 40}) {
    TrainState state;
    state.step = step;
    save_checkpoint((dir_ / checkpoint_name(step)).string(), *m, nullptr, state, to_ini(config_));
    write_latest(dir_.string(), checkpoint_name(step));
    prune_checkpoints(dir_.string(), 2);
  }
  EXPECT_FALSE(fs::exists(dir_ / checkpoint_name(10)));
  EXPECT_FALSE(fs::exists(dir_ / checkpoint_name(20)));
  EXPECT_TRUE(fs::exists(dir_ / checkpoint_name(30)));
  EXPECT_EQ(*find_latest_checkpoint(dir_.string()), (dir_ / checkpoint_name(40)).string());
  // A LATEST naming a vanished file falls back to the newest on disk.
  write_latest(dir_.string(), checkpoint_name(99));
  EXPECT_EQ(*find_latest_checkpoint(dir_.string()), (dir_ / checkpoint_name(40)).string());
}

TEST_F(CheckpointTest, ResolvePrefersBestInADirectory) {
  auto m = make_model(4);
  save_checkpoint((dir_ / checkpoint_name(5)).string(), *m, nullptr, {}, to_ini(config_));
  EXPECT_EQ(resolve_checkpoint(dir_.string()), (dir_ / checkpoint_name(5)).string());
  save_checkpoint((dir_ / "best.pt").string(), *m, nullptr, {}, to_ini(config_));
  EXPECT_EQ(resolve_checkpoint(dir_.string()), (dir_ / "best.pt").string());
  EXPECT_THROW(resolve_checkpoint((dir_ / "nothing-here").string()), Error);
}

TEST_F(CheckpointTest, EpochPositionRoundTrips) {
  auto m = make_model(8);
  TrainState state;
  state.step = 40;
  state.position.epoch = 2;
  state.position.step_in_epoch = 25;
  state.position.world_size = 4;
  state.position.global_batch = 96;
  state.position.earlier = {{2, 128, 17}, {3, 64, 5}};
  const auto path = (dir_ / "seg.pt").string();
  save_checkpoint(path, *m, nullptr, state, to_ini(config_));
  const auto back = read_checkpoint_header(path).state;
  EXPECT_EQ(back.step, 40);
  EXPECT_EQ(back.position.epoch, 2);
  EXPECT_EQ(back.position.step_in_epoch, 25);
  EXPECT_EQ(back.position.world_size, 4);
  EXPECT_EQ(back.position.global_batch, 96);
  ASSERT_EQ(back.position.earlier.size(), 2u);
  EXPECT_EQ(back.position.earlier[0].world_size, 2);
  EXPECT_EQ(back.position.earlier[0].global_batch, 128);
  EXPECT_EQ(back.position.earlier[0].steps, 17);
  EXPECT_EQ(back.position.earlier[1].world_size, 3);
  EXPECT_EQ(back.position.earlier[1].global_batch, 64);
  EXPECT_EQ(back.position.earlier[1].steps, 5);
}

// A checkpoint of distgru before global batches were recorded (tests/train/
// data/README.md): every segment ran with the batch of its stored config.
TEST_F(CheckpointTest, OlderCheckpointsWithoutBatchesStillResume) {
  const std::string path = std::string(DISTGRU_SOURCE_DIR) + "/tests/train/data/format2-two-segments.pt";
  const auto contents = read_checkpoint_header(path);
  const auto& position = contents.state.position;
  EXPECT_EQ(contents.state.step, 5);
  EXPECT_EQ(position.epoch, 0);
  EXPECT_EQ(position.step_in_epoch, 5);
  EXPECT_EQ(position.world_size, 1);
  EXPECT_EQ(position.global_batch, 8);
  ASSERT_EQ(position.earlier.size(), 1u);
  EXPECT_EQ(position.earlier[0].world_size, 2);
  EXPECT_EQ(position.earlier[0].global_batch, 8);
  EXPECT_EQ(position.earlier[0].steps, 3);
  const auto config = config_from_ini(contents.config_ini, path);
  model::AttentionGRU model(model_config(config));
  torch::optim::Adam adam(model->parameters());
  EXPECT_NO_THROW(load_checkpoint(path, *model, &adam));
}

TEST_F(CheckpointTest, CorruptionIsDetectedByTheChecksum) {
  auto m = make_model(9);
  const auto path = (dir_ / "flip.pt").string();
  save_checkpoint(path, *m, nullptr, {}, to_ini(config_));
  EXPECT_FALSE(checkpoint_problem(path).has_value());
  {
    std::fstream f(path, std::ios::in | std::ios::out | std::ios::binary);
    f.seekp(static_cast<std::streamoff>(fs::file_size(path) - 100));
    f.put('\x5a');
  }
  ASSERT_TRUE(checkpoint_problem(path).has_value());
  EXPECT_NE(checkpoint_problem(path)->find("checksum mismatch"), std::string::npos);
  EXPECT_THROW(read_checkpoint_header(path), Error);
}

TEST_F(CheckpointTest, NewestUnusableCheckpointFallsBackToThePrevious) {
  auto m = make_model(10);
  for (int64_t step : {4, 8}) {
    TrainState state;
    state.step = step;
    save_checkpoint((dir_ / checkpoint_name(step)).string(), *m, nullptr, state, to_ini(config_));
    write_latest(dir_.string(), checkpoint_name(step));
  }
  std::vector<std::string> skipped;
  EXPECT_EQ(*find_usable_checkpoint(dir_.string(), &skipped), (dir_ / checkpoint_name(8)).string());
  EXPECT_TRUE(skipped.empty());
  fs::resize_file(dir_ / checkpoint_name(8), 1000);
  EXPECT_EQ(*find_usable_checkpoint(dir_.string(), &skipped), (dir_ / checkpoint_name(4)).string());
  ASSERT_EQ(skipped.size(), 1u);
  EXPECT_NE(skipped[0].find("ckpt-00000008.pt: truncated"), std::string::npos) << skipped[0];
  fs::resize_file(dir_ / checkpoint_name(4), 10);
  skipped.clear();
  EXPECT_FALSE(find_usable_checkpoint(dir_.string(), &skipped).has_value());
  EXPECT_EQ(skipped.size(), 2u);
}

TEST_F(CheckpointTest, TruncatedFileIsAClearError) {
  auto m = make_model(5);
  const auto path = (dir_ / "cut.pt").string();
  save_checkpoint(path, *m, nullptr, {}, to_ini(config_));
  fs::resize_file(path, fs::file_size(path) / 2);
  try {
    read_checkpoint_header(path);
    FAIL();
  } catch (const Error& e) {
    EXPECT_NE(std::string(e.what()).find(path), std::string::npos) << e.what();
  }
}

TEST_F(CheckpointTest, ModelDifferencesAreNamed) {
  TrainConfig other = config_;
  EXPECT_EQ(model_differences(config_, other), "");
  other.hidden_size = 64;
  other.vocab_size = 5000;
  EXPECT_EQ(model_differences(config_, other), "vocab-size 40 vs 5000, hidden-size 3 vs 64");
}

TEST_F(CheckpointTest, OtherArchitectureIsRefused) {
  auto m = make_model(6);
  const auto path = (dir_ / "small.pt").string();
  save_checkpoint(path, *m, nullptr, {}, to_ini(config_));
  config_.hidden_size = 5;
  auto bigger = make_model(7);
  EXPECT_THROW(load_checkpoint(path, *bigger, nullptr), Error);
}

// A model whose parameters are not finite is never written...
TEST_F(CheckpointTest, ADivergedModelIsNeverWritten) {
  auto m = make_model(3);
  {
    torch::NoGradGuard no_grad;
    m->parameters()[2].view(-1)[0] = std::nan("");
  }
  const auto path = (dir_ / checkpoint_name(3)).string();
  try {
    save_checkpoint(path, *m, nullptr, {}, to_ini(config_));
    FAIL() << "a NaN parameter was written";
  } catch (const Error& e) {
    EXPECT_NE(std::string(e.what()).find("refusing to write " + path + ": parameter "), std::string::npos) << e.what();
    EXPECT_NE(std::string(e.what()).find("has 1 NaN or infinite values"), std::string::npos) << e.what();
  }
  EXPECT_FALSE(fs::exists(path));
  EXPECT_FALSE(fs::exists(path + ".tmp"));
}

// ...and one written by an earlier version (tests/train/data/README.md) is
// refused by every loader, and skipped by --resume auto.
TEST_F(CheckpointTest, ADivergedCheckpointIsRefusedAndSkipped) {
  const std::string diverged = std::string(DISTGRU_SOURCE_DIR) + "/tests/train/data/diverged-step1.pt";
  const auto config = config_from_ini(read_checkpoint_header(diverged).config_ini, diverged);
  model::AttentionGRU model(model_config(config));
  try {
    load_checkpoint(diverged, *model, nullptr);
    FAIL() << "a diverged checkpoint was loaded";
  } catch (const Error& e) {
    EXPECT_NE(std::string(e.what()).find(diverged + ": parameter "), std::string::npos) << e.what();
    EXPECT_NE(std::string(e.what()).find("written after training diverged"), std::string::npos) << e.what();
  }
  ASSERT_TRUE(checkpoint_problem(diverged).has_value());
  EXPECT_NE(checkpoint_problem(diverged)->find("NaN or infinite"), std::string::npos) << *checkpoint_problem(diverged);

  auto good = make_model(4);
  save_checkpoint((dir_ / checkpoint_name(1)).string(), *good, nullptr, {}, to_ini(config_));
  fs::copy_file(diverged, dir_ / checkpoint_name(2));
  write_latest(dir_.string(), checkpoint_name(2));
  std::vector<std::string> skipped;
  EXPECT_EQ(find_usable_checkpoint(dir_.string(), &skipped), (dir_ / checkpoint_name(1)).string());
  ASSERT_EQ(skipped.size(), 1u);
  EXPECT_NE(skipped[0].find(checkpoint_name(2) + ": parameter "), std::string::npos) << skipped[0];
}

TEST_F(CheckpointTest, DigestIsThePayloadsSha256) {
  auto m = make_model(5);
  const auto a = (dir_ / "a.pt").string(), b = (dir_ / "b.pt").string();
  save_checkpoint(a, *m, nullptr, {}, to_ini(config_));
  save_checkpoint(b, *m, nullptr, {}, to_ini(config_));
  EXPECT_EQ(checkpoint_digest(a).size(), 64u);
  EXPECT_EQ(checkpoint_digest(a), checkpoint_digest(b));  // the same contents
  TrainState later;
  later.step = 1;
  save_checkpoint(b, *m, nullptr, later, to_ini(config_));
  EXPECT_NE(checkpoint_digest(a), checkpoint_digest(b));
}

}  // namespace
}  // namespace distgru::train
