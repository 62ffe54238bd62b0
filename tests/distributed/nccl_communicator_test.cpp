// The NCCL backend on CUDA tensors, with the same exact arithmetic as the MPI
// tests. Skips where no CUDA device is visible (CI); tests/gpu/run_gpu_checks.sh
// runs it on a GPU machine.
#include <gtest/gtest.h>

#include <vector>

#include "common/error.h"
#include "distributed/factory.h"
#include "distributed/gradient_sync.h"
#include "support/mpi_env.h"

namespace distgru::dist {
namespace {

class NcclTest : public ::testing::Test {
 protected:
  void SetUp() override {
    if (!nccl_compiled()) GTEST_SKIP() << "built without NCCL";
    if (!torch::cuda::is_available()) GTEST_SKIP() << "no CUDA device visible to LibTorch";
    if (static_cast<int>(torch::cuda::device_count()) < testing::mpi_session().world_size())
      GTEST_SKIP() << "NCCL needs one GPU per rank";
    comm_ = create_communicator(testing::mpi_session(), Backend::kNccl, std::chrono::seconds(60));
  }
  torch::TensorOptions on_gpu(torch::ScalarType t) const {
    return torch::TensorOptions().dtype(t).device(comm_->device());
  }
  std::unique_ptr<Communicator> comm_;
};

TEST_F(NcclTest, DeviceFollowsLocalRank) {
  EXPECT_EQ(comm_->backend(), "nccl");
  EXPECT_TRUE(comm_->device().is_cuda());
  EXPECT_EQ(comm_->device().index(), comm_->local_rank() % torch::cuda::device_count());
}

TEST_F(NcclTest, AllreduceSumMaxMin) {
  const int r = comm_->rank(), p = comm_->size();
  for (int64_t n : {1, 1000, 1 << 20}) {
    auto t = torch::arange(n, on_gpu(torch::kFloat)) + r;
    comm_->allreduce(t, ReduceOp::kSum);
    auto expected = torch::arange(n, torch::kFloat) * p + p * (p - 1) / 2.0;
    EXPECT_TRUE(torch::equal(t.cpu(), expected)) << n;
  }
  auto hi = torch::full({5}, r, on_gpu(torch::kDouble));
  comm_->allreduce(hi, ReduceOp::kMax);
  EXPECT_EQ(hi.max().item<double>(), p - 1);
}

TEST_F(NcclTest, BroadcastAndAllgather) {
  auto t = torch::full({9}, comm_->rank() + 1, on_gpu(torch::kLong));
  comm_->broadcast(t, 0);
  EXPECT_TRUE(torch::equal(t.cpu(), torch::ones({9}, torch::kLong)));
  auto in = torch::full({3}, comm_->rank(), on_gpu(torch::kFloat));
  auto out = torch::empty({3 * comm_->size()}, on_gpu(torch::kFloat));
  comm_->allgather(in, out);
  for (int r = 0; r < comm_->size(); ++r) EXPECT_EQ(out[3 * r].item<float>(), r);
  comm_->barrier();
}

TEST_F(NcclTest, GradientSyncOnTheGpu) {
  auto param = torch::zeros({4, 4}, on_gpu(torch::kFloat).requires_grad(true));
  param.mutable_grad() = torch::full({4, 4}, comm_->rank() + 1.0, on_gpu(torch::kFloat));
  GradientSync sync(*comm_, {param});
  sync.allreduce_gradients();
  const double p = comm_->size();
  EXPECT_TRUE(torch::equal(param.grad().cpu(), torch::full({4, 4}, p * (p + 1) / 2)));
}

// The communication thread drives NCCL while autograd's device thread is
// still running backward: several buckets, re-armed over steps, each sum
// equal to the fused allreduce's and to the known value.
TEST_F(NcclTest, BucketsReducedDuringBackwardEqualTheFusedAllreduce) {
  const std::vector<int64_t> sizes = {3, 1000, 7, 1 << 16, 5};
  auto make = [&] {
    std::vector<torch::Tensor> params;
    for (auto n : sizes) params.push_back(torch::zeros({n}, on_gpu(torch::kFloat)).requires_grad_(true));
    return params;
  };
  auto fused_params = make(), bucketed_params = make();
  GradientSync fused(*comm_, fused_params);
  GradientSyncOptions options;
  options.bucket_bytes = 4096;  // 1024 floats: several buckets
  options.overlap = true;
  GradientSync bucketed(*comm_, bucketed_params, options);
  ASSERT_GE(bucketed.plan().buckets.size(), 3u);
  ASSERT_TRUE(bucketed.overlapping());
  const double p = comm_->size();
  for (int step = 0; step < 3; ++step) {
    for (auto* set : {&fused_params, &bucketed_params}) {
      GradientSync& sync = set == &fused_params ? fused : bucketed;
      sync.begin_backward();
      auto loss = torch::zeros({}, on_gpu(torch::kFloat));
      for (size_t j = 0; j < set->size(); ++j) {
        auto coef = torch::arange(sizes[j], on_gpu(torch::kFloat)).remainder(13) + static_cast<double>(j + 1);
        loss = loss + ((*set)[j] * coef).sum() * (comm_->rank() + 1.0) * (step + 1.0);
      }
      loss.backward();
      sync.allreduce_gradients();
    }
    for (size_t j = 0; j < sizes.size(); ++j) {
      auto coef = torch::arange(sizes[j], torch::kFloat).remainder(13) + static_cast<double>(j + 1);
      const auto want = coef * (p * (p + 1) / 2) * (step + 1.0);
      EXPECT_TRUE(torch::equal(bucketed_params[j].grad().cpu(), fused_params[j].grad().cpu()))
          << "parameter " << j << " step " << step;
      EXPECT_TRUE(torch::equal(bucketed_params[j].grad().cpu(), want)) << "parameter " << j << " step " << step;
    }
  }
}

TEST_F(NcclTest, CpuTensorsAreRefusedByName) {
  auto cpu = torch::zeros({2});
  try {
    comm_->allreduce(cpu, ReduceOp::kSum);
    FAIL();
  } catch (const Error& e) {
    EXPECT_NE(std::string(e.what()).find("backend nccl does not support allreduce on device cpu"),
              std::string::npos)
        << e.what();
  }
}

}  // namespace
}  // namespace distgru::dist
