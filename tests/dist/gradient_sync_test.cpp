#include "dist/gradient_sync.h"

#include <gtest/gtest.h>

#include "dist/mpi_communicator.h"
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
