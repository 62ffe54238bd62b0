#include <gtest/gtest.h>
#include <torch/torch.h>

#include <functional>

#include "common/error.h"
#include "train/adam_update.h"

namespace distgru::train {
namespace {

// Parameters of a few shapes (one large enough to be split across threads),
// with gradients that change every step.
struct Problem {
  std::vector<torch::Tensor> params;
  explicit Problem(uint64_t seed) {
    torch::manual_seed(seed);
    for (const auto& shape : std::vector<std::vector<int64_t>>{{7, 5}, {3}, {300, 400}}) {
      params.push_back(torch::randn(shape).requires_grad_(true));
    }
  }
  bool column_major_last_gradient = false;  // the same values, laid out column-major
  void set_gradients(int step) {
    torch::manual_seed(1000 + step);
    for (auto& p : params) p.mutable_grad() = torch::randn_like(p) * (step + 1);
    if (column_major_last_gradient) params.back().mutable_grad() = params.back().grad().t().contiguous().t();
  }
};

torch::optim::AdamOptions options() { return torch::optim::AdamOptions(2e-3).betas({0.9, 0.999}).eps(1e-8); }

// Two copies of one problem given the same gradients every step: `ours`
// updated by the step under test, `theirs` by LibTorch's Adam::step.
struct SideBySide {
  Problem ours, theirs;
  torch::optim::Adam ours_opt, theirs_opt;
  SideBySide(uint64_t seed, const torch::optim::AdamOptions& o, const std::function<void(Problem&)>& adapt = {})
      : ours(seed), theirs(seed), ours_opt(adapted(ours, adapt), o), theirs_opt(adapted(theirs, adapt), o) {}
  static std::vector<torch::Tensor> adapted(Problem& p, const std::function<void(Problem&)>& adapt) {
    if (adapt) adapt(p);
    return p.params;
  }
  // ours_step(optimizer, step) defaults to adam_update.
  void run(int steps, const std::function<void(torch::optim::Adam&, int)>& ours_step = {}) {
    for (int step = 0; step < steps; ++step) {
      ours.set_gradients(step);
      theirs.set_gradients(step);
      if (ours_step) {
        ours_step(ours_opt, step);
      } else {
        adam_update(ours_opt);
      }
      theirs_opt.step();
    }
  }
};

TEST(AdamUpdate, FollowsLibTorchsAdam) {
  SideBySide pair(1, options());
  pair.run(6);
  auto &ours = pair.ours, &theirs = pair.theirs;
  auto &ours_opt = pair.ours_opt, &theirs_opt = pair.theirs_opt;
  for (size_t i = 0; i < ours.params.size(); ++i) {
    EXPECT_TRUE(torch::allclose(ours.params[i], theirs.params[i], 1e-5, 1e-7)) << "parameter " << i;
    EXPECT_GT((ours.params[i] - Problem(1).params[i]).abs().max().item<float>(), 1e-3) << "parameter " << i << " moved";
  }
  // The state is the optimizer's own: the same step count and moments.
  ASSERT_EQ(ours_opt.state().size(), theirs_opt.state().size());
  for (size_t i = 0; i < ours.params.size(); ++i) {
    ASSERT_NE(adam_state(ours_opt, ours.params[i]), nullptr);
    ASSERT_NE(adam_state(theirs_opt, theirs.params[i]), nullptr);
    const auto& os = *adam_state(ours_opt, ours.params[i]);
    const auto& ts = *adam_state(theirs_opt, theirs.params[i]);
    EXPECT_EQ(os.step(), 6);
    EXPECT_EQ(ts.step(), 6);
    EXPECT_TRUE(torch::allclose(os.exp_avg(), ts.exp_avg(), 1e-5, 1e-5));
    EXPECT_TRUE(torch::allclose(os.exp_avg_sq(), ts.exp_avg_sq(), 1e-5, 1e-5));
  }
}

// A checkpoint written after fused steps resumes in either implementation.
TEST(AdamUpdate, StateSurvivesSaveAndLoad) {
  Problem a(2);
  torch::optim::Adam opt(a.params, options());
  for (int step = 0; step < 3; ++step) {
    a.set_gradients(step);
    adam_update(opt);
  }
  std::stringstream archive;
  {
    torch::serialize::OutputArchive out;
    opt.save(out);
    out.save_to(archive);
  }
  // Two copies of the parameters: one continues with the fused update in the
  // same optimizer, the other from the loaded state with LibTorch's.
  Problem b(2);
  for (size_t i = 0; i < a.params.size(); ++i) {
    torch::NoGradGuard no_grad;
    b.params[i].copy_(a.params[i]);
  }
  torch::optim::Adam loaded(b.params, options());
  {
    torch::serialize::InputArchive in;
    in.load_from(archive);
    loaded.load(in);
  }
  a.set_gradients(3);
  b.set_gradients(3);
  adam_update(opt);
  loaded.step();
  for (size_t i = 0; i < a.params.size(); ++i) {
    EXPECT_TRUE(torch::allclose(a.params[i], b.params[i], 1e-5, 1e-7)) << "parameter " << i;
  }
}

// One state per parameter, shared with Adam::step: the two interleaved
// count the same steps and follow LibTorch's Adam alone.
TEST(AdamUpdate, SharesItsStateWithAdamStep) {
  SideBySide pair(6, options());
  pair.run(4, [](torch::optim::Adam& optimizer, int step) {
    if (step % 2 == 0) {
      adam_update(optimizer);
    } else {
      optimizer.step();
    }
  });
  auto &mixed = pair.ours, &theirs = pair.theirs;
  auto& mixed_opt = pair.ours_opt;
  ASSERT_EQ(mixed_opt.state().size(), mixed.params.size());
  for (size_t i = 0; i < mixed.params.size(); ++i) {
    ASSERT_NE(adam_state(mixed_opt, mixed.params[i]), nullptr);
    EXPECT_EQ(adam_state(mixed_opt, mixed.params[i])->step(), 4);
    EXPECT_TRUE(torch::allclose(mixed.params[i], theirs.params[i], 1e-5, 1e-7)) << "parameter " << i;
  }
}

TEST(AdamUpdate, SameBitsWhateverTheThreadCount) {
  std::vector<torch::Tensor> results;
  for (int threads : {1, 2}) {
    const int saved = torch::get_num_threads();
    torch::set_num_threads(threads);
    Problem p(3);
    torch::optim::Adam opt(p.params, options());
    for (int step = 0; step < 3; ++step) {
      p.set_gradients(step);
      adam_update(opt);
    }
    torch::set_num_threads(saved);
    results.push_back(p.params[2].detach().clone());
  }
  EXPECT_TRUE(torch::equal(results[0], results[1]));
}

// Options the loop does not implement run LibTorch's own step, bit for bit.
TEST(AdamUpdate, AmsgradAndWeightDecayFallBackToLibTorch) {
  for (const auto& o : {options().amsgrad(true), options().weight_decay(0.1)}) {
    SideBySide pair(4, o);
    pair.run(3);
    for (size_t i = 0; i < pair.ours.params.size(); ++i) {
      EXPECT_TRUE(torch::equal(pair.ours.params[i], pair.theirs.params[i]));
    }
  }
}

TEST(AdamUpdate, AStepSizeBeyondAFloatIsAnError) {
  Problem p(5);
  torch::optim::Adam opt(p.params, torch::optim::AdamOptions(1e39));
  p.set_gradients(0);
  try {
    adam_update(opt);
    FAIL() << "expected an error";
  } catch (const Error& e) {
    EXPECT_NE(std::string(e.what()).find("is not a finite float"), std::string::npos) << e.what();
  }
  // Nothing of the failed parameter changed: its step count stays 0.
  ASSERT_NE(adam_state(opt, p.params[0]), nullptr);
  EXPECT_EQ(adam_state(opt, p.params[0])->step(), 0);
}

// Parameters the loop does not take (float64, a non-contiguous gradient) run
// LibTorch's own step for the whole optimizer, bit for bit.
TEST(AdamUpdate, OtherTensorsFallBackToLibTorch) {
  for (int variant = 0; variant < 2; ++variant) {
    SideBySide pair(7, options(), [variant](Problem& p) {
      if (variant == 0) p.params[0] = p.params[0].detach().to(torch::kDouble).requires_grad_(true);
      if (variant == 1) p.column_major_last_gradient = true;
    });
    pair.run(3);
    for (size_t i = 0; i < pair.ours.params.size(); ++i) {
      EXPECT_TRUE(torch::equal(pair.ours.params[i], pair.theirs.params[i]))
          << "variant " << variant << ", parameter " << i;
    }
  }
}

}  // namespace
}  // namespace distgru::train
