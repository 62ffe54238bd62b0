#include "distributed/gradient_sync.h"
#include "distributed/tensor_collectives.h"

#include <gtest/gtest.h>

#include <cmath>

#include "common/error.h"
#include "distributed/mpi_communicator.h"
#include "support/mpi_env.h"

namespace distgru::dist {
namespace {

TEST(GradientSync, SumsEveryGradientInOneFusedBuffer) {
  MpiCommunicator comm(testing::mpi_session());
  const int r = comm.rank(), p = comm.size();
  std::vector<torch::Tensor> params = {torch::zeros({3, 2}, torch::requires_grad()),
                                       torch::zeros({5}, torch::requires_grad()),
                                       torch::zeros({1}, torch::requires_grad())};
  // Gradient entry k of tensor j on rank r: (r + 1) * (10 j + k).
  for (size_t j = 0; j < params.size(); ++j) {
    params[j].mutable_grad() =
        (torch::arange(params[j].numel(), torch::kFloat) + 10.0 * j).view(params[j].sizes()) * (r + 1);
  }
  GradientSync sync(comm, params);
  EXPECT_EQ(sync.numel(), 6 + 5 + 1);
  sync.allreduce_gradients();
  const double factor = p * (p + 1) / 2.0;
  for (size_t j = 0; j < params.size(); ++j) {
    auto expected = (torch::arange(params[j].numel(), torch::kFloat) + 10.0 * j).view(params[j].sizes()) * factor;
    EXPECT_TRUE(torch::equal(params[j].grad(), expected)) << "tensor " << j;
  }
}

TEST(GradientSync, MissingGradientCountsAsZeroAndReceivesTheSum) {
  MpiCommunicator comm(testing::mpi_session());
  auto param = torch::zeros({4}, torch::requires_grad());
  if (comm.rank() == 0) param.mutable_grad() = torch::ones({4});
  GradientSync sync(comm, {param});
  sync.allreduce_gradients();
  ASSERT_TRUE(param.grad().defined());
  EXPECT_TRUE(torch::equal(param.grad(), torch::ones({4})));
}

// Parameters w0..w3 and one that backward never reaches. On rank r the
// gradient of w_j is (r + 1) * (j + 1) * (step + 1) * c_j, with integer c_j, so
// every sum is exact whatever order or grouping the reduction uses.
struct TinyModel {
  std::vector<torch::Tensor> params = {
      torch::zeros({5, 3}, torch::requires_grad()), torch::zeros({7}, torch::requires_grad()),
      torch::zeros({2, 2}, torch::requires_grad()), torch::zeros({11}, torch::requires_grad()),
      torch::zeros({4}, torch::requires_grad())};  // unused
  static torch::Tensor coefficients(const torch::Tensor& p) {
    return torch::arange(p.numel(), torch::kFloat).remainder(5).add(1).view(p.sizes());
  }
  void backward(int rank, int step) {
    // A chain, so autograd reaches the parameters one after another.
    torch::Tensor loss = torch::zeros({});
    for (size_t j = 0; j < 4; ++j) {
      const double scale = (rank + 1.0) * (j + 1.0) * (step + 1.0);
      loss = loss + (params[j] * coefficients(params[j]) * scale).sum();
    }
    loss.backward();
  }
  torch::Tensor expected(size_t j, int world, int step) const {
    if (j == 4) return torch::zeros({4});
    return coefficients(params[j]) * (world * (world + 1) / 2.0) * (j + 1.0) * (step + 1.0);
  }
};

TEST(GradientSync, BucketsReducedDuringBackwardEqualTheFusedAllreduce) {
  MpiCommunicator comm(testing::mpi_session());
  TinyModel fused_model, bucketed_model;
  GradientSync fused(comm, fused_model.params);
  GradientSyncOptions options;
  options.bucket_bytes = 8 * 4;  // 8 floats: several buckets
  options.overlap = true;
  GradientSync bucketed(comm, bucketed_model.params, options);
  ASSERT_GE(bucketed.plan().buckets.size(), 3u);
  for (int step = 0; step < 3; ++step) {  // re-armed each step, nothing carried over
    fused.begin_backward();
    fused_model.backward(comm.rank(), step);
    fused.allreduce_gradients();
    bucketed.begin_backward();
    bucketed_model.backward(comm.rank(), step);
    bucketed.allreduce_gradients();
    for (size_t j = 0; j < 5; ++j) {
      ASSERT_TRUE(bucketed_model.params[j].grad().defined()) << j;
      EXPECT_TRUE(torch::equal(bucketed_model.params[j].grad(), fused_model.params[j].grad()))
          << "parameter " << j << " step " << step;
      EXPECT_TRUE(torch::equal(bucketed_model.params[j].grad(), TinyModel().expected(j, comm.size(), step)))
          << "parameter " << j << " step " << step;
    }
  }
}

// Adversarial training's step: a local backward (no bucket started), then a
// synced one whose gradients add to it; then a plain step, with nothing
// carried over. Fused and overlapped alike.
TEST(GradientSync, LocalBackwardThenSyncedBackwardSumsBoth) {
  MpiCommunicator comm(testing::mpi_session());
  for (const bool overlap : {false, true}) {
    TinyModel model;
    GradientSyncOptions options;
    options.bucket_bytes = 8 * 4;
    options.overlap = overlap;
    GradientSync sync(comm, model.params, options);
    sync.begin_local_backward();
    model.backward(comm.rank(), /*step=*/0);
    model.backward(comm.rank(), /*step=*/1);  // any number of local ones
    sync.continue_backward();
    model.backward(comm.rank(), /*step=*/2);
    sync.allreduce_gradients();
    for (size_t j = 0; j < 5; ++j) {
      const auto expected = TinyModel().expected(j, comm.size(), 0) + TinyModel().expected(j, comm.size(), 1) +
                            TinyModel().expected(j, comm.size(), 2);
      ASSERT_TRUE(model.params[j].grad().defined()) << j;
      EXPECT_TRUE(torch::equal(model.params[j].grad(), expected)) << "parameter " << j << " overlap " << overlap;
    }
    sync.begin_backward();
    model.backward(comm.rank(), /*step=*/3);
    sync.allreduce_gradients();
    for (size_t j = 0; j < 5; ++j) {
      EXPECT_TRUE(torch::equal(model.params[j].grad(), TinyModel().expected(j, comm.size(), 3)))
          << "parameter " << j << " overlap " << overlap << " after the two-backward step";
    }
  }
}

// --bf16-allreduce: the buckets travel as bfloat16 (half the bytes). TinyModel's
// sums are integers below 512 with even values above 256, which bfloat16
// holds exactly, so the result equals the float allreduce's bit for bit, on
// the overlapped and the fused path.
TEST(GradientSync, Bfloat16WireCarriesExactSumsAndHalfTheBytes) {
  MpiCommunicator comm(testing::mpi_session());
  for (const bool overlap : {true, false}) {
    TinyModel model;
    GradientSyncOptions options;
    options.bucket_bytes = 8 * 4;
    options.overlap = overlap;
    options.wire_dtype = torch::kBFloat16;
    GradientSync sync(comm, model.params, options);
    EXPECT_EQ(sync.wire_dtype(), torch::kBFloat16);
    for (int step = 0; step < 3; ++step) {
      sync.begin_backward();
      model.backward(comm.rank(), step);
      sync.allreduce_gradients();
      EXPECT_EQ(sync.last_volume().dense_bytes, sync.numel() * 2);
      for (size_t j = 0; j < 5; ++j) {
        EXPECT_EQ(model.params[j].grad().scalar_type(), torch::kFloat);
        EXPECT_TRUE(torch::equal(model.params[j].grad(), TinyModel().expected(j, comm.size(), step)))
            << "overlap " << overlap << " parameter " << j << " step " << step;
      }
    }
  }
}

// Values bfloat16 cannot hold: each rank's gradient rounded to 8 significant
// bits before the sum, so the result is within the stated bound of the
// float allreduce's and the same on every rank.
TEST(GradientSync, Bfloat16WireStaysWithinItsRoundingBound) {
  MpiCommunicator comm(testing::mpi_session());
  const int p = comm.size();
  torch::manual_seed(5);
  const auto base = torch::randn({1000});
  auto exact = torch::zeros({1000}, torch::requires_grad());
  auto wired = torch::zeros({1000}, torch::requires_grad());
  exact.mutable_grad() = base * (comm.rank() + 1);
  wired.mutable_grad() = base * (comm.rank() + 1);
  GradientSync float_sync(comm, {exact});
  GradientSyncOptions options;
  options.wire_dtype = torch::kBFloat16;
  GradientSync bf16_sync(comm, {wired}, options);
  float_sync.allreduce_gradients();
  bf16_sync.allreduce_gradients();
  // Rounding in: 2^-8 of each term; p - 1 rounded additions and the result:
  // at most 2^-8 of the sum of magnitudes each.
  const auto magnitude = base.abs() * (p * (p + 1) / 2.0);
  const auto err = (wired.grad() - exact.grad()).abs();
  EXPECT_TRUE(torch::all(err <= magnitude * (2 * p) * std::ldexp(1.0, -8)).item<bool>())
      << "largest error " << err.max().item<float>();
  EXPECT_FALSE(torch::equal(wired.grad(), exact.grad()));  // it did round
  EXPECT_TRUE(tensors_identical_across_ranks(comm, {wired.grad()}));
}

TEST(GradientSync, OnlyAFloatToBfloat16WireIsOffered) {
  MpiCommunicator comm(testing::mpi_session());
  GradientSyncOptions options;
  options.wire_dtype = torch::kHalf;
  auto param = torch::zeros({4}, torch::requires_grad());
  try {
    GradientSync sync(comm, {param}, options);
    FAIL() << "expected an error";
  } catch (const Error& e) {
    EXPECT_NE(std::string(e.what()).find("wire for Float gradients is not offered"), std::string::npos) << e.what();
  }
}

TEST(GradientSync, OverlapWithoutBeginFallsBackToTheFusedPath) {
  MpiCommunicator comm(testing::mpi_session());
  TinyModel model;
  GradientSyncOptions options;
  options.bucket_bytes = 8 * 4;
  options.overlap = true;
  GradientSync sync(comm, model.params, options);
  model.backward(comm.rank(), 0);  // hooks not armed: plain accumulation into the buffer
  sync.allreduce_gradients();
  for (size_t j = 0; j < 5; ++j) {
    EXPECT_TRUE(torch::equal(model.params[j].grad(), TinyModel().expected(j, comm.size(), 0))) << j;
  }
}

TEST(GradientSync, RejectsMixedDtypes) {
  MpiCommunicator comm(testing::mpi_session());
  EXPECT_THROW(GradientSync(comm, {torch::zeros({2}), torch::zeros({2}, torch::kDouble)}), std::exception);
}

TEST(BroadcastTensors, RootParametersWinEverywhere) {
  MpiCommunicator comm(testing::mpi_session());
  std::vector<torch::Tensor> tensors = {torch::full({2, 2}, comm.rank() + 0.5), torch::full({3}, -comm.rank() * 1.0)};
  broadcast_tensors(comm, tensors, 0);
  EXPECT_TRUE(torch::equal(tensors[0], torch::full({2, 2}, 0.5)));
  EXPECT_TRUE(torch::equal(tensors[1], torch::full({3}, 0.0)));
  EXPECT_TRUE(tensors_identical_across_ranks(comm, tensors));
}

TEST(BroadcastString, RootTextReachesEveryRank) {
  MpiCommunicator comm(testing::mpi_session());
  const std::string mine = "rank " + std::to_string(comm.rank()) + " text";
  EXPECT_EQ(broadcast_string(comm, mine, 0), "rank 0 text");
  EXPECT_EQ(broadcast_string(comm, comm.rank() == 0 ? "" : "ignored", 0), "");
}

TEST(BroadcastTensors, IdentityCheckNoticesOneDifferentRank) {
  MpiCommunicator comm(testing::mpi_session());
  std::vector<torch::Tensor> tensors = {torch::ones({8})};
  EXPECT_TRUE(tensors_identical_across_ranks(comm, tensors));
  if (comm.rank() == comm.size() - 1) tensors[0][3] = 1.0f + 1e-7f;
  EXPECT_EQ(tensors_identical_across_ranks(comm, tensors), comm.size() == 1);
}

}  // namespace
}  // namespace distgru::dist
