// The trainer under mpirun with 1, 2 and 3 ranks, on synthetic shards.
#include <gtest/gtest.h>

#include <cmath>
#include <filesystem>
#include <fstream>

#include "common/error.h"
#include "distributed/gradient_sync.h"
#include "distributed/tensor_collectives.h"
#include "distributed/mpi_communicator.h"
#include "model/adversarial.h"
#include "support/mpi_env.h"
#include "support/synthetic_data.h"
#include "runtime/stop_signals_testing.h"
#include "train/rank_agreement.h"
#include "train/replica.h"
#include "train/train_step.h"
#include "train/trainer.h"
#include "train/training_data.h"

#include <cmath>
#include <csignal>
#include <map>

namespace fs = std::filesystem;

namespace distgru::train {
namespace {

using dist::MpiCommunicator;

// Two replicas after the same step: their synchronised gradients agree
// within rtol/atol, and so do the updated parameters, to 1e-5, wherever the
// gradient is more than rounding noise (Adam's g/sqrt(v) turns noise-level
// gradients, e.g. the attention score's bias, whose gradient is exactly zero
// in exact arithmetic, into full-size steps of either sign).
void expect_same_update(const std::vector<torch::Tensor>& a, const std::vector<torch::Tensor>& b, double rtol,
                        double atol, int step) {
  ASSERT_EQ(a.size(), b.size());
  for (size_t i = 0; i < a.size(); ++i) {
    const auto& ga = a[i].grad();
    const auto& gb = b[i].grad();
    EXPECT_TRUE(torch::allclose(ga, gb, rtol, atol))
        << "step " << step << " gradient " << i << " max diff " << (ga - gb).abs().max().item<float>();
    auto meaningful = ga.abs() > 1e-5;
    auto diff = (a[i] - b[i]).abs().masked_select(meaningful);
    if (diff.numel() > 0) {
      EXPECT_LT(diff.max().item<float>(), 1e-5) << "step " << step << " parameter " << i;
    }
  }
}

// Rank 0 makes the dataset; every rank learns its path.
class DistributedTraining : public ::testing::Test {
 protected:
  void SetUp() override {
    if (comm_.rank() == 0) {
      scratch_ = std::make_unique<testing::ScratchDir>("dist_train");
      testing::write_synthetic_dataset(scratch_->path() + "/data", spec_);
    }
    root_ = dist::broadcast_string(comm_, scratch_ ? scratch_->path() : "");
  }
  void TearDown() override {
    comm_.barrier();  // nobody still reads while rank 0 deletes
  }

  TrainConfig config() const {
    TrainConfig c;
    c.data_dir = root_ + "/data";
    c.vocab_size = spec_.vocab_size;
    c.sentence_size = spec_.sentence_size;
    c.embed_dim = 8;
    c.hidden_size = 6;
    c.attention_size = 4;
    c.batch_size = 12;
    c.learning_rate = 0.01;
    c.val_fraction = 0.25;
    c.log_every = 2;
    c.runtime.threads = 1;
    return c;
  }

  MpiCommunicator comm_{testing::mpi_session()};
  testing::SyntheticSpec spec_;
  std::unique_ptr<testing::ScratchDir> scratch_;
  std::string root_;
};

TEST_F(DistributedTraining, ReplicasStayIdenticalAfterSteps) {
  auto c = config();
  c.steps = 5;
  Trainer trainer(c, comm_);
  EXPECT_TRUE(dist::tensors_identical_across_ranks(comm_, trainer.model()->parameters()));
  auto result = trainer.run();
  EXPECT_EQ(result.steps, 5);
  // run() restores the best validation parameters before testing; both are
  // identical across ranks.
  EXPECT_TRUE(dist::tensors_identical_across_ranks(comm_, trainer.model()->parameters()));
  ASSERT_TRUE(result.test.has_value());
  EXPECT_EQ(result.test->samples, spec_.test);
}

// A step on N ranks equals a step of one process on the same global batch.
TEST_F(DistributedTraining, StepMatchesSingleProcessOnTheSameGlobalBatch) {
  auto c = config();
  c.steps = 1;
  MpiCommunicator self(testing::mpi_session(), MpiCommunicator::Scope::kSelf);
  auto model_alone = build_replica(c, self);
  auto model_together = build_replica(c, comm_);
  StepOptions options;
  options.clip_grad_norm = c.clip_grad_norm;
  options.sync.bucket_bytes = 1000;  // several buckets, reduced during backward
  options.sync.overlap = true;
  TrainStep alone(model_alone, self, options);
  TrainStep together(model_together, comm_, options);
  auto pa = model_alone->parameters();
  auto pt = model_together->parameters();
  for (size_t i = 0; i < pa.size(); ++i) ASSERT_TRUE(torch::equal(pa[i], pt[i]));

  const int64_t batch = 12;
  torch::manual_seed(99);  // the same global batch on every rank
  auto tokens = torch::randint(3, spec_.vocab_size, {batch, spec_.sentence_size}, torch::kLong);
  tokens.slice(1, 8).zero_();
  auto labels = torch::randint(0, 2, {batch}, torch::kLong);
  const auto mine = data::block_of(batch, comm_.rank(), comm_.size());
  for (int step = 0; step < 3; ++step) {
    const double loss_alone = agree_after_step(self, alone.run(tokens, labels, batch, c.learning_rate).local_loss, 0).loss;
    const auto stepped = together.run(tokens.slice(0, mine.begin, mine.end), labels.slice(0, mine.begin, mine.end), batch,
                                      c.learning_rate);
    const double loss_together = agree_after_step(comm_, stepped.local_loss, 0).loss;
    EXPECT_NEAR(loss_alone, loss_together, 1e-6) << "step " << step;
    EXPECT_GT(stepped.times.forward, 0.0);
    EXPECT_GT(stepped.times.backward, 0.0);
    EXPECT_GE(stepped.times.sync, 0.0);
    EXPECT_GT(stepped.times.optimizer, 0.0);
    expect_same_update(model_alone->parameters(), model_together->parameters(), 1e-4, 1e-7, step);
  }
}

// --adversarial-epsilon: the step's gradient is the clean loss's plus that of
// the loss with each review's embedded words moved by r_adv (computed here by
// hand); on N ranks, with buckets reduced during the second backward, it
// equals one process's on the same global batch.
TEST_F(DistributedTraining, AdversarialStepAddsThePerturbedReviewsGradient) {
  auto c = config();
  MpiCommunicator self(testing::mpi_session(), MpiCommunicator::Scope::kSelf);
  auto by_hand = build_replica(c, self);
  auto model_alone = build_replica(c, self);
  auto model_together = build_replica(c, comm_);
  StepOptions options;
  options.sync.bucket_bytes = 1000;  // several buckets, reduced during backward
  options.sync.overlap = true;
  options.adversarial_epsilon = 0.5;
  TrainStep alone(model_alone, self, options);
  TrainStep together(model_together, comm_, options);

  const int64_t batch = 12;
  torch::manual_seed(99);  // the same global batch on every rank
  auto tokens = torch::randint(3, spec_.vocab_size, {batch, spec_.sentence_size}, torch::kLong);
  tokens.slice(1, 8).zero_();
  auto labels = torch::randint(0, 2, {batch}, torch::kLong);
  const auto loss_of = [&](const model::ModelOutput& out) {
    return torch::nn::functional::cross_entropy(
               out.logits, labels, torch::nn::functional::CrossEntropyFuncOptions().reduction(torch::kSum)) /
           static_cast<double>(batch);
  };
  auto clean = by_hand->forward(tokens, /*perturbation=*/{}, /*embedded_gradient=*/true);
  clean.embedded.retain_grad();
  loss_of(clean).backward();
  std::vector<torch::Tensor> clean_grads;
  for (const auto& p : by_hand->parameters()) clean_grads.push_back(p.grad().clone());
  const auto r_adv = model::adversarial_perturbation(clean.embedded.grad(), options.adversarial_epsilon);
  loss_of(by_hand->forward(tokens, r_adv)).backward();

  alone.run(tokens, labels, batch, c.learning_rate);
  const auto mine = data::block_of(batch, comm_.rank(), comm_.size());
  together.run(tokens.slice(0, mine.begin, mine.end), labels.slice(0, mine.begin, mine.end), batch,
               c.learning_rate);
  const auto expected = by_hand->parameters();
  const auto got = model_alone->parameters();
  double moved_by_adversary = 0.0;
  for (size_t i = 0; i < got.size(); ++i) {
    EXPECT_TRUE(torch::allclose(got[i].grad(), expected[i].grad(), 1e-4, 1e-7))
        << "gradient " << i << " max diff " << (got[i].grad() - expected[i].grad()).abs().max().item<float>();
    moved_by_adversary = std::max(moved_by_adversary, (expected[i].grad() - 2 * clean_grads[i]).abs().max().item<double>());
  }
  // The perturbed reviews' gradient is not just the clean one again.
  EXPECT_GT(moved_by_adversary, 1e-4);
  expect_same_update(model_alone->parameters(), model_together->parameters(), 1e-4, 1e-7, 0);
}

// --sparse-embedding: the embedding's gradient gathered as touched rows gives
// the dense allreduce's gradients and update, to float rounding, on 1-3 ranks,
// and every rank contributed exactly the rows of the words in its block.
TEST_F(DistributedTraining, SparseEmbeddingSyncGivesTheDenseUpdate) {
  auto c = config();
  auto dense_model = build_replica(c, comm_);
  auto sparse_model = build_replica(c, comm_);
  StepOptions options;
  options.clip_grad_norm = c.clip_grad_norm;
  options.sync.bucket_bytes = 1000;
  options.sync.overlap = true;
  TrainStep dense(dense_model, comm_, options);
  options.sparse_embedding = true;
  TrainStep sparse(sparse_model, comm_, options);
  EXPECT_TRUE(sparse.sync().sparse());
  EXPECT_FALSE(dense.sync().sparse());

  const int64_t batch = 12;
  torch::manual_seed(7);
  for (int step = 0; step < 3; ++step) {
    auto tokens = torch::randint(3, spec_.vocab_size, {batch, spec_.sentence_size}, torch::kLong);
    tokens.slice(1, 8).zero_();
    auto labels = torch::randint(0, 2, {batch}, torch::kLong);
    const auto mine = data::block_of(batch, comm_.rank(), comm_.size());
    auto my_tokens = tokens.slice(0, mine.begin, mine.end);
    dense.run(my_tokens, labels.slice(0, mine.begin, mine.end), batch, c.learning_rate);
    sparse.run(my_tokens, labels.slice(0, mine.begin, mine.end), batch, c.learning_rate);
    EXPECT_EQ(sparse.sync().last_volume().sparse_rows, std::get<0>(at::_unique(my_tokens.reshape({-1}))).numel());
    EXPECT_EQ(dense.sync().last_volume().sparse_rows, 0);
    expect_same_update(dense_model->parameters(), sparse_model->parameters(), 1e-5, 1e-8, step);
    // Every rank summed the same rows in the same order: identical replicas.
    EXPECT_TRUE(dist::tensors_identical_across_ranks(comm_, sparse_model->parameters()));
  }
}

// --bf16-allreduce: from the same parameters the first step's gradients are
// the float allreduce's to bfloat16 rounding (relative 2^-8 per rounding; the
// bound below allows a few roundings on the largest element of each
// parameter), and over several steps the replicas stay identical and the
// global gradient norm stays within 1% of the float path's.
TEST_F(DistributedTraining, Bfloat16AllreduceRoundsTheFloatGradients) {
  auto c = config();
  auto float_model = build_replica(c, comm_);
  auto bf16_model = build_replica(c, comm_);
  StepOptions options;
  options.sync.bucket_bytes = 20000;
  options.sync.overlap = true;
  TrainStep float_step(float_model, comm_, options);
  options.sync.wire_dtype = torch::kBFloat16;
  TrainStep bf16_step(bf16_model, comm_, options);
  EXPECT_EQ(bf16_step.sync().wire_dtype(), torch::kBFloat16);
  EXPECT_EQ(bf16_step.sync().bytes(), float_step.sync().bytes());  // the buffer stays float

  const int64_t batch = 12;
  torch::manual_seed(7);
  for (int step = 0; step < 3; ++step) {
    auto tokens = torch::randint(3, spec_.vocab_size, {batch, spec_.sentence_size}, torch::kLong);
    tokens.slice(1, 8).zero_();
    auto labels = torch::randint(0, 2, {batch}, torch::kLong);
    const auto mine = data::block_of(batch, comm_.rank(), comm_.size());
    auto my_tokens = tokens.slice(0, mine.begin, mine.end);
    const auto f = float_step.run(my_tokens, labels.slice(0, mine.begin, mine.end), batch, c.learning_rate);
    const auto b = bf16_step.run(my_tokens, labels.slice(0, mine.begin, mine.end), batch, c.learning_rate);
    EXPECT_EQ(bf16_step.sync().last_volume().dense_bytes * 2, float_step.sync().last_volume().dense_bytes);
    EXPECT_NEAR(b.grad_norm, f.grad_norm, 0.01 * f.grad_norm) << "step " << step;
    if (step == 0) {
      const auto pf = float_model->parameters();
      const auto pb = bf16_model->parameters();
      for (size_t i = 0; i < pf.size(); ++i) {
        const auto& gf = pf[i].grad();
        const auto& gb = pb[i].grad();
        const double largest = gf.abs().max().item<double>();
        const double diff = (gf - gb).abs().max().item<double>();
        EXPECT_LE(diff, 4 * comm_.size() * std::ldexp(1.0, -8) * largest) << "gradient " << i;
      }
    }
    EXPECT_TRUE(dist::tensors_identical_across_ranks(comm_, bf16_model->parameters()));
  }
}

TEST_F(DistributedTraining, CheckpointsAndResumeAuto) {
  auto c = config();
  c.checkpoint_dir = root_ + "/ckpt";
  c.steps = 4;
  c.checkpoint_every = 2;
  c.eval_every = 2;
  {
    Trainer first(c, comm_);
    first.run();
  }
  comm_.barrier();
  if (comm_.rank() == 0) {
    EXPECT_TRUE(fs::exists(c.checkpoint_dir + "/ckpt-00000004.pt"));
    EXPECT_TRUE(fs::exists(c.checkpoint_dir + "/best.pt"));
    EXPECT_TRUE(fs::exists(c.checkpoint_dir + "/test_metrics.json"));
    std::ifstream latest(c.checkpoint_dir + "/LATEST");
    std::string name;
    std::getline(latest, name);
    EXPECT_EQ(name, "ckpt-00000004.pt");
  }
  c.resume = "auto";
  c.steps = 6;
  Trainer second(c, comm_);
  EXPECT_EQ(second.state().step, 4);
  auto result = second.run();
  EXPECT_EQ(result.steps, 2);
  EXPECT_EQ(second.state().step, 6);
  comm_.barrier();
  if (comm_.rank() == 0) {
    std::ifstream metrics(c.checkpoint_dir + "/metrics.jsonl");
    int lines = 0, steps = 0;
    for (std::string line; std::getline(metrics, line); ++lines) {
      auto j = nlohmann::json::parse(line);
      if (j.contains("samples_per_sec")) {
        ++steps;
        EXPECT_TRUE(j.contains("loss") && j.contains("lr") && j.contains("epoch"));
      }
    }
    EXPECT_EQ(steps, 3);  // steps 2, 4 (first run) and 6
    EXPECT_GE(lines, 6);
  }
}

// Training 2K steps straight equals K steps, a stop, a resume and K more: the
// same per-step losses and the same final parameters, bit for bit.
// Also with every dropout and weight decay on (the masks are a function of
// (seed, step, rank), so the resumed run draws the ones the straight run
// drew), and with the moving average of the weights (saved in the step
// checkpoints, so it goes on from the same values: the same bits at the end).
enum class ResumeCase { kPlain, kRegularisers, kWeightAverage };
class ResumeBitExact : public DistributedTraining, public ::testing::WithParamInterface<ResumeCase> {};

TEST_P(ResumeBitExact, OnTheSameWorldSize) {
  auto c = config();
  c.log_every = 1;
  c.eval_every = 3;
  c.checkpoint_every = 4;
  c.steps = 10;  // crosses an epoch boundary (6 steps per epoch at 1-3 ranks)
  if (GetParam() == ResumeCase::kRegularisers) {
    c.dropout_word = 0.1;
    c.dropout_embedding = 0.1;
    c.dropout_encoder = 0.2;
    c.dropout_output = 0.3;
    c.weight_decay = 0.05;
    c.adversarial_epsilon = 0.5;  // a second forward per step, drawing more masks
  }
  if (GetParam() == ResumeCase::kWeightAverage) c.ema_decay = 0.9;
  c.checkpoint_dir = root_ + "/straight";
  { Trainer(c, comm_).run(); }
  c.checkpoint_dir = root_ + "/resumed";
  c.steps = 4;
  { Trainer(c, comm_).run(); }
  c.steps = 10;
  c.resume = "auto";
  { Trainer(c, comm_).run(); }
  comm_.barrier();

  auto losses = [](const std::string& dir) {
    std::map<int64_t, double> out;
    std::ifstream in(dir + "/metrics.jsonl");
    for (std::string line; std::getline(in, line);) {
      auto j = nlohmann::json::parse(line);
      if (j.contains("samples_per_sec")) out[j["step"].get<int64_t>()] = j["loss"].get<double>();
    }
    return out;
  };
  const auto straight = losses(root_ + "/straight");
  const auto resumed = losses(root_ + "/resumed");
  ASSERT_EQ(straight.size(), 10u);
  ASSERT_EQ(resumed.size(), 10u);
  for (const auto& [step, loss] : straight) EXPECT_EQ(loss, resumed.at(step)) << "step " << step;

  model::AttentionGRU a(model_config(c)), b(model_config(c));
  const auto in_a = load_checkpoint(root_ + "/straight/ckpt-00000010.pt", *a, nullptr);
  const auto in_b = load_checkpoint(root_ + "/resumed/ckpt-00000010.pt", *b, nullptr);
  auto pa = a->parameters(), pb = b->parameters();
  for (size_t i = 0; i < pa.size(); ++i) EXPECT_TRUE(torch::equal(pa[i], pb[i])) << "parameter " << i;
  ASSERT_EQ(in_a.weight_average.size(), GetParam() == ResumeCase::kWeightAverage ? pa.size() : 0u);
  ASSERT_EQ(in_b.weight_average.size(), in_a.weight_average.size());
  for (size_t i = 0; i < in_a.weight_average.size(); ++i) {
    EXPECT_TRUE(torch::equal(in_a.weight_average[i], in_b.weight_average[i])) << "weight average " << i;
    EXPECT_FALSE(torch::equal(in_a.weight_average[i], pa[i])) << "the average of " << i << " is the parameter";
  }
}

INSTANTIATE_TEST_SUITE_P(DistributedTraining, ResumeBitExact,
                         ::testing::Values(ResumeCase::kPlain, ResumeCase::kRegularisers,
                                           ResumeCase::kWeightAverage),
                         [](const auto& info) {
                           switch (info.param) {
                             case ResumeCase::kRegularisers: return "WithDropoutDecayAndAdversarialTraining";
                             case ResumeCase::kWeightAverage: return "WithWeightAverage";
                             case ResumeCase::kPlain: break;
                           }
                           return "Plain";
                         });

// --ema-decay: every validation scores the trained weights and their moving
// average; best.pt, the step and the flag it records, and the test scoring
// take whichever scored best over the run (the trained weights on a tie).
// Checked against metrics.jsonl's records and the step checkpoints (which
// hold both), whichever wins on this many ranks.
TEST_F(DistributedTraining, BestIsWhicheverOfTheWeightsAndTheirAverageValidatesBetter) {
  auto c = config();
  c.learning_rate = 0.05;
  c.steps = 24;
  c.eval_every = 4;
  c.checkpoint_every = 4;
  c.keep_checkpoints = 6;
  c.ema_decay = 0.9;
  c.select_metric = SelectMetric::kLoss;
  c.checkpoint_dir = root_ + "/ema";
  const auto result = Trainer(c, comm_).run();
  comm_.barrier();
  std::map<int64_t, double> trained, averaged;
  std::ifstream in(c.checkpoint_dir + "/metrics.jsonl");
  for (std::string line; std::getline(in, line);) {
    const auto j = nlohmann::json::parse(line);
    if (!j.contains("split")) continue;
    const auto split = j["split"].get<std::string>();
    if (split == "validation") trained[j["step"].get<int64_t>()] = j["loss"].get<double>();
    if (split == "validation_ema") averaged[j["step"].get<int64_t>()] = j["loss"].get<double>();
  }
  ASSERT_EQ(trained.size(), 6u);
  ASSERT_EQ(averaged.size(), 6u);
  int64_t best_step = -1;
  bool best_averaged = false;
  double best = 0;
  for (const auto& [step, loss] : trained) {
    if (best_step < 0 || loss < best) best_step = step, best_averaged = false, best = loss;
    if (averaged.at(step) < best) best_step = step, best_averaged = true, best = averaged.at(step);
  }
  EXPECT_EQ(result.model_step, best_step);
  EXPECT_EQ(result.model_averaged, best_averaged);
  model::AttentionGRU best_model(model_config(c)), at_step(model_config(c));
  const auto best_file = load_checkpoint(c.checkpoint_dir + "/best.pt", *best_model, nullptr);
  EXPECT_EQ(best_file.state.best_step, best_step);
  EXPECT_EQ(best_file.state.best_averaged, best_averaged);
  const auto step_file = load_checkpoint(c.checkpoint_dir + "/" + checkpoint_name(best_step), *at_step, nullptr);
  ASSERT_FALSE(step_file.weight_average.empty());
  const auto want = best_averaged ? step_file.weight_average : at_step->parameters();
  const auto got = best_model->parameters();
  for (size_t i = 0; i < got.size(); ++i) EXPECT_TRUE(torch::equal(got[i], want[i])) << "parameter " << i;
  ASSERT_TRUE(result.test.has_value());
}

// The average's branch, made certain: a checkpoint whose parameters are a
// fresh initialisation and whose average is a trained model's parameters,
// resumed for one step at a rate too small to move anything. The average
// (0.87 trained + 0.13 initial after that step's update) must validate
// better, and best.pt and the test scoring must take it.
TEST_F(DistributedTraining, TheWeightAverageIsTakenWhenItValidatesBetter) {
  auto c = config();
  c.steps = 60;
  c.eval_every = 60;
  c.ema_decay = 0.99;
  c.checkpoint_dir = root_ + "/trained";
  Trainer(c, comm_).run();
  comm_.barrier();
  c.checkpoint_dir = root_ + "/made_up";
  if (comm_.rank() == 0) {
    model::AttentionGRU trained(model_config(c));
    auto contents = load_checkpoint(root_ + "/trained/" + checkpoint_name(60), *trained, nullptr);
    torch::manual_seed(123);
    model::AttentionGRU fresh(model_config(c));
    torch::optim::Adam adam(fresh->parameters(), torch::optim::AdamOptions(c.learning_rate));
    contents.state.best_step = -1;  // no best yet
    contents.state.best_metric = 0;
    fs::create_directories(c.checkpoint_dir);
    save_checkpoint(c.checkpoint_dir + "/" + checkpoint_name(60), *fresh, &adam, contents.state, to_ini(c),
                    FileSystem::local(), trained->parameters());
  }
  comm_.barrier();
  c.resume = "auto";
  c.steps = 61;
  c.eval_every = 1;
  c.learning_rate = 1e-12;
  const auto result = Trainer(c, comm_).run();
  EXPECT_EQ(result.model_step, 61);
  EXPECT_TRUE(result.model_averaged);
  ASSERT_TRUE(result.best_validation.has_value());
  EXPECT_LT(result.best_validation->loss, 0.3);  // the trained model's, not a fresh one's (about 0.69)
  comm_.barrier();
  model::AttentionGRU best_model(model_config(c)), last(model_config(c));
  const auto best_file = load_checkpoint(c.checkpoint_dir + "/best.pt", *best_model, nullptr);
  EXPECT_TRUE(best_file.state.best_averaged);
  const auto last_file = load_checkpoint(c.checkpoint_dir + "/" + checkpoint_name(61), *last, nullptr);
  const auto got = best_model->parameters();
  ASSERT_EQ(last_file.weight_average.size(), got.size());
  for (size_t i = 0; i < got.size(); ++i) {
    EXPECT_TRUE(torch::equal(got[i], last_file.weight_average[i])) << "parameter " << i;
  }
}

// --weight-decay: from the same parameters and batch, a step with decay lambda
// differs from plain Adam's by exactly -lr * lambda * (the old weight) on the
// weight matrices (AdamW shrinks before the Adam update, which does not
// depend on the weight), and not at all on biases and the embedding.
TEST_F(DistributedTraining, WeightDecayShrinksOnlyTheWeightMatrices) {
  auto c = config();
  auto plain_model = build_replica(c, comm_);
  auto decayed_model = build_replica(c, comm_);
  StepOptions options;
  TrainStep plain(plain_model, comm_, options);
  options.weight_decay = 0.5;
  TrainStep decayed(decayed_model, comm_, options);
  std::vector<torch::Tensor> before;
  for (const auto& p : plain_model->parameters()) before.push_back(p.detach().clone());
  const int64_t batch = 12;
  torch::manual_seed(3);
  auto tokens = torch::randint(3, spec_.vocab_size, {batch, spec_.sentence_size}, torch::kLong);
  auto labels = torch::randint(0, 2, {batch}, torch::kLong);
  const auto mine = data::block_of(batch, comm_.rank(), comm_.size());
  const double lr = 0.01;
  plain.run(tokens.slice(0, mine.begin, mine.end), labels.slice(0, mine.begin, mine.end), batch, lr, 1);
  decayed.run(tokens.slice(0, mine.begin, mine.end), labels.slice(0, mine.begin, mine.end), batch, lr, 1);
  const auto pp = plain_model->named_parameters();
  const auto pd = decayed_model->named_parameters();
  int decayed_count = 0;
  for (size_t i = 0; i < pp.size(); ++i) {
    const auto& name = pp[i].key();
    const auto diff = pd[i].value() - pp[i].value();
    if (before[i].dim() >= 2 && name != "embedding.weight") {
      EXPECT_TRUE(torch::allclose(diff, -lr * 0.5 * before[i], 1e-4, 1e-7)) << name;
      ++decayed_count;
    } else {
      EXPECT_TRUE(torch::equal(pd[i].value(), pp[i].value())) << name << " must not be decayed";
    }
  }
  EXPECT_EQ(decayed_count, 7);  // the GRU's 4 matrices, the attention MLP's 2, the output layer's
}

// --early-stop-patience 2 with a rate too small to change any score: the
// first validation is the best, the next two do not improve on it, and every
// rank stops after step 3 (of 20), then scores the test set; a resume of the
// finished run trains no further.
TEST_F(DistributedTraining, EarlyStopEndsEveryRankAtTheSameStep) {
  auto c = config();
  c.learning_rate = 1e-12;
  c.steps = 20;
  c.eval_every = 1;
  c.early_stop_patience = 2;
  c.checkpoint_dir = root_ + "/early";
  const auto result = Trainer(c, comm_).run();
  EXPECT_EQ(result.steps, 3);
  EXPECT_EQ(result.model_step, 1);  // the best validation's parameters
  ASSERT_TRUE(result.test.has_value());
  const auto steps = dist::allgather_values(comm_, {static_cast<double>(result.steps)});
  for (double s : steps) EXPECT_EQ(s, 3.0);
  c.resume = "auto";
  EXPECT_EQ(Trainer(c, comm_).run().steps, 0);
  c.checkpoint_dir = root_ + "/no_early";  // the same run without patience goes on
  c.resume = "";
  c.early_stop_patience = 0;
  c.steps = 5;
  EXPECT_EQ(Trainer(c, comm_).run().steps, 5);
}

TEST_F(DistributedTraining, StopSignalCheckpointsAtTheSameStepOnEveryRank) {
  auto c = config();
  c.checkpoint_dir = root_ + "/stopped";
  c.steps = 50;
  c.checkpoint_every = 0;
  Trainer trainer(c, comm_);
  // Only the last rank "receives" the signal: the others must learn of it
  // through the agreement collective.
  if (comm_.rank() == comm_.size() - 1) runtime::testing::raise_stop_signal(SIGUSR1);
  auto result = trainer.run();
  runtime::testing::raise_stop_signal(0);
  EXPECT_EQ(result.stop_signal, SIGUSR1);
  EXPECT_EQ(trainer.state().step, 1);
  comm_.barrier();
  EXPECT_TRUE(fs::exists(c.checkpoint_dir + "/ckpt-00000001.pt"));
  EXPECT_FALSE(result.test.has_value());
}

// Every rank learns the sum of the losses (in rank order) and the largest
// stop signal, from one collective.
TEST_F(DistributedTraining, RanksAgreeOnTheLossAndOnStopping) {
  const int r = comm_.rank(), p = comm_.size();
  const auto agreed = agree_after_step(comm_, 0.5 * (r + 1), r == p - 1 ? 15 : (r == 0 ? 10 : 0));
  EXPECT_DOUBLE_EQ(agreed.loss, 0.5 * p * (p + 1) / 2.0);
  EXPECT_EQ(agreed.stop_signal, 15);
  EXPECT_EQ(agree_after_step(comm_, 1.0, 0).stop_signal, 0);
}

// A resume with another global batch closes the epoch's segment where it
// stopped and carries on with the samples not yet seen, as a resume on
// another world size does.
TEST_F(DistributedTraining, ResumeWithAnotherGlobalBatchContinuesTheEpoch) {
  auto c = config();
  c.checkpoint_dir = root_ + "/batch";
  c.steps = 2;
  c.checkpoint_every = 2;
  c.eval_every = 100;
  { Trainer(c, comm_).run(); }
  c.resume = "auto";
  c.batch_size = 6;
  c.steps = 5;
  Trainer resumed(c, comm_);
  const auto& position = resumed.state().position;
  ASSERT_EQ(position.earlier.size(), 1u);
  EXPECT_EQ(position.earlier[0].world_size, comm_.size());
  EXPECT_EQ(position.earlier[0].global_batch, 12);
  EXPECT_EQ(position.earlier[0].steps, 2);
  EXPECT_EQ(position.global_batch, 6);
  EXPECT_EQ(position.step_in_epoch, 2);
  const auto result = resumed.run();
  EXPECT_EQ(result.steps, 3);
  EXPECT_EQ(resumed.state().step, 5);
}

// The same settings everywhere pass with one collective; any difference is
// refused on every rank alike, naming the rank, the key and both values.
TEST_F(DistributedTraining, RanksWithDifferentSettingsAreRefusedByName) {
  EXPECT_NO_THROW(check_settings_agree(comm_, "lr = 0.003\nsteps = 40\n", "test"));
  const int last = comm_.size() - 1;
  const std::string mine = comm_.rank() == last && last > 0 ? "lr = 0.05\nsteps = 40\n" : "lr = 0.003\nsteps = 40\n";
  if (comm_.size() == 1) GTEST_SKIP() << "needs a second rank to differ";
  try {
    check_settings_agree(comm_, mine, "distgru-test");
    FAIL() << "different settings were accepted";
  } catch (const AgreedError& e) {
    EXPECT_EQ(e.exit_code(), kExitRefused);
    const std::string what = e.what();
    EXPECT_NE(what.find("rank " + std::to_string(last) + " has lr = 0.05 where rank 0 has lr = 0.003"),
              std::string::npos)
        << what;
    EXPECT_EQ(what.find("steps"), std::string::npos) << what;  // only what differs
  }
}

// A check made before training that fails on one rank is every rank's
// refusal (exit 2), naming the rank; failing alike on every rank, it says
// the message once. Before, one rank's exception aborted the job (exit 1).
TEST_F(DistributedTraining, APreflightCheckFailingOnAnyRankIsEveryRanksRefusal) {
  EXPECT_NO_THROW(agree_on_check(comm_, [] {}));
  try {
    agree_on_check(comm_, [] { DISTGRU_FAIL("data/manifest.json: missing"); });
    FAIL() << "a failed check passed";
  } catch (const AgreedError& e) {
    EXPECT_EQ(e.exit_code(), kExitRefused);
    EXPECT_EQ(std::string(e.what()).rfind("data/manifest.json: missing", 0), 0u) << e.what();
  }
  const int last = comm_.size() - 1;
  if (last == 0) return;  // needs a rank that does not fail
  try {
    agree_on_check(comm_, [&] {
      if (comm_.rank() == last) DISTGRU_FAIL("only here");
    });
    FAIL() << "a check failed on rank " << last << " passed";
  } catch (const AgreedError& e) {
    EXPECT_NE(std::string(e.what()).find("rank " + std::to_string(last) + ": only here"), std::string::npos)
        << e.what();
  }
}

// A step whose gradient is not finite applies no update, on every rank.
TEST_F(DistributedTraining, ADivergedStepAppliesNoUpdate) {
  auto c = config();
  auto model = build_replica(c, comm_);
  StepOptions options;
  options.clip_grad_norm = 5.0;
  TrainStep step(model, comm_, options);
  const int64_t batch = 2 * comm_.size();
  auto tokens = torch::randint(3, spec_.vocab_size, {2, spec_.sentence_size}, torch::kLong);
  auto labels = torch::randint(0, 2, {2}, torch::kLong);
  std::vector<torch::Tensor> before;
  {
    torch::NoGradGuard no_grad;
    model->parameters().back().view(-1)[0] = std::nan("");  // the output layer's bias
  }
  for (const auto& p : model->parameters()) before.push_back(p.detach().clone());
  const auto result = step.run(tokens, labels, batch, 0.01);
  EXPECT_FALSE(result.applied);
  EXPECT_FALSE(std::isfinite(result.grad_norm));
  const auto after = model->parameters();
  for (size_t i = 0; i + 1 < after.size(); ++i) EXPECT_TRUE(torch::equal(after[i], before[i])) << "parameter " << i;
}

// The validation reviews are the tail of the training split whatever the
// world size; each rank reads its block of the rest, and only that.
TEST_F(DistributedTraining, TrainingDataHoldsOutTheTailAndReadsItsBlock) {
  auto c = config();  // 96 training reviews, val-fraction 0.25
  TrainingData data(c, comm_.rank(), comm_.size());
  EXPECT_EQ(data.train_size(), 72);
  EXPECT_EQ(data.validation().begin, 72);
  EXPECT_EQ(data.validation().end, 96);
  const auto block = data::block_of(72, comm_.rank(), comm_.size());
  EXPECT_EQ(data.block().begin, block.begin);
  EXPECT_EQ(data.block().end, block.end);
  torch::Tensor tokens, labels;
  data.batch({block.begin, block.end - 1}, torch::kCPU, tokens, labels);
  ASSERT_EQ(tokens.size(0), 2);
  // The same rows read straight from the shards.
  std::vector<int32_t> x(static_cast<size_t>(spec_.sentence_size)), y(1);
  data.shards().read(block.end - 1, block.end, x.data(), y.data());
  EXPECT_EQ(labels[1].item<int64_t>(), y[0]);
  EXPECT_EQ(tokens[1][0].item<int64_t>(), x[0]);
  EXPECT_THROW(data.batch({block.end}, torch::kCPU, tokens, labels), Error);  // another rank's row
}

TEST_F(DistributedTraining, ShardsDisagreeingWithTheConfigAreRefused) {
  auto c = config();
  c.vocab_size = spec_.vocab_size + 1;
  c.steps = 1;
  try {
    Trainer trainer(c, comm_);
    FAIL() << "expected an error";
  } catch (const Error& e) {
    EXPECT_NE(std::string(e.what()).find("vocab_size"), std::string::npos) << e.what();
  }
}

}  // namespace
}  // namespace distgru::train
