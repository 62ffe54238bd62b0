// Collectives checked with exact arithmetic, as Gloo's tests: rank r
// contributes values built from r, so every sum is known in closed form.
#include <gtest/gtest.h>

#include <chrono>
#include <cmath>
#include <thread>

#include "common/error.h"
#include "distributed/factory.h"
#include "distributed/mpi_communicator.h"
#include "distributed/tensor_collectives.h"
#include "support/mpi_env.h"

namespace distgru::dist {
namespace {

class CommunicatorTest : public ::testing::TestWithParam<std::tuple<torch::ScalarType, int64_t>> {
 protected:
  MpiCommunicator comm_{testing::mpi_session()};
};

TEST_P(CommunicatorTest, AllreduceSumIsClosedForm) {
  const auto [dtype, n] = GetParam();
  const int r = comm_.rank(), p = comm_.size();
  // Element i of rank r holds r + i: the sum is p(p-1)/2 + p*i.
  auto t = (torch::arange(n, torch::kDouble) + r).to(dtype);
  comm_.allreduce(t, ReduceOp::kSum);
  auto expected = (torch::arange(n, torch::kDouble) * p + p * (p - 1) / 2.0).to(dtype);
  EXPECT_TRUE(torch::equal(t, expected));
}

TEST_P(CommunicatorTest, AllreduceMaxAndMin) {
  const auto [dtype, n] = GetParam();
  auto hi = torch::full({n}, comm_.rank(), torch::kDouble).to(dtype);
  auto lo = hi.clone();
  comm_.allreduce(hi, ReduceOp::kMax);
  comm_.allreduce(lo, ReduceOp::kMin);
  EXPECT_TRUE(torch::equal(hi, torch::full({n}, comm_.size() - 1, torch::kDouble).to(dtype)));
  EXPECT_TRUE(torch::equal(lo, torch::zeros({n}, dtype)));
}

TEST_P(CommunicatorTest, BroadcastFromEveryRoot) {
  const auto [dtype, n] = GetParam();
  for (int root = 0; root < comm_.size(); ++root) {
    auto t = torch::full({n}, 100 * comm_.rank() + 1, torch::kDouble).to(dtype);
    comm_.broadcast(t, root);
    EXPECT_TRUE(torch::equal(t, torch::full({n}, 100 * root + 1, torch::kDouble).to(dtype)));
  }
}

TEST_P(CommunicatorTest, AllgatherPlacesRanksInOrder) {
  const auto [dtype, n] = GetParam();
  auto in = torch::full({n}, comm_.rank(), torch::kDouble).to(dtype);
  auto out = torch::empty({n * comm_.size()}, dtype);
  comm_.allgather(in, out);
  for (int r = 0; r < comm_.size(); ++r) {
    EXPECT_TRUE(torch::equal(out.slice(0, r * n, (r + 1) * n), torch::full({n}, r, torch::kDouble).to(dtype)));
  }
}

INSTANTIATE_TEST_SUITE_P(
    DtypesAndSizes, CommunicatorTest,
    ::testing::Combine(::testing::Values(torch::kFloat, torch::kDouble, torch::kInt, torch::kLong),
                       ::testing::Values<int64_t>(1, 7, 1 << 16)));

TEST(Communicator, RanksAndLocalRanksAreConsistent) {
  MpiCommunicator comm(testing::mpi_session());
  EXPECT_EQ(comm.size(), testing::mpi_session().world_size());
  EXPECT_EQ(comm.rank(), testing::mpi_session().world_rank());
  EXPECT_GE(comm.local_rank(), 0);
  EXPECT_LT(comm.local_rank(), comm.local_size());
  // Every rank of these tests runs on one host.
  EXPECT_EQ(comm.local_size(), comm.size());
  EXPECT_EQ(comm.local_rank(), comm.rank());
  EXPECT_EQ(comm.backend(), "mpi");
  EXPECT_TRUE(comm.device().is_cpu());
  comm.barrier();
}

TEST(Communicator, SelfScopeIsAWorldOfOne) {
  MpiCommunicator self(testing::mpi_session(), MpiCommunicator::Scope::kSelf);
  EXPECT_EQ(self.size(), 1);
  EXPECT_EQ(self.rank(), 0);
  auto t = torch::full({3}, 5.0f);
  self.allreduce(t, ReduceOp::kSum);
  EXPECT_TRUE(torch::equal(t, torch::full({3}, 5.0f)));
}

// bfloat16 travels as its bits and is added by a user-defined MPI operation:
// small integers add exactly; other values match the float sum rounded at
// each addition, whatever order MPI picks, and every rank gets the same bits.
TEST(Communicator, AllreduceSumsBfloat16) {
  MpiCommunicator comm(testing::mpi_session());
  const int r = comm.rank(), p = comm.size();
  const int64_t n = 70000;  // more than one segment of Open MPI's pipelined algorithms
  auto exact = (torch::arange(n, torch::kFloat).remainder(32) + r).to(torch::kBFloat16);
  comm.allreduce(exact, ReduceOp::kSum);
  EXPECT_TRUE(torch::equal(exact, (torch::arange(n, torch::kFloat).remainder(32) * p + p * (p - 1) / 2.0)
                                      .to(torch::kBFloat16)));
  // Rank r's values: a fixed pseudo-random float vector times (r + 1), rounded.
  torch::manual_seed(11);
  const auto base = torch::randn({n});
  auto t = (base * (r + 1)).to(torch::kBFloat16);
  comm.allreduce(t, ReduceOp::kSum);
  auto reference = torch::zeros({n});
  for (int q = 0; q < p; ++q) reference += (base * (q + 1)).to(torch::kBFloat16).to(torch::kFloat);
  // p - 1 additions, each rounded to 8 significant bits (relative error <= 2^-8
  // of its result, which is at most the sum of the magnitudes).
  auto magnitude = torch::zeros({n});
  for (int q = 0; q < p; ++q) magnitude += (base * (q + 1)).to(torch::kBFloat16).to(torch::kFloat).abs();
  const auto err = (t.to(torch::kFloat) - reference).abs();
  EXPECT_TRUE(torch::all(err <= magnitude * (p - 1) * std::ldexp(1.0, -8) + 1e-30).item<bool>())
      << "largest error " << err.max().item<float>();
  if (p == 1) {
    EXPECT_TRUE(torch::equal(t.to(torch::kFloat), reference));
  }
  EXPECT_TRUE(tensors_identical_across_ranks(comm, {t.to(torch::kFloat)}));
  auto hi = torch::ones({4}, torch::kBFloat16);
  try {
    comm.allreduce(hi, ReduceOp::kMax);
    FAIL() << "expected an error";
  } catch (const Error& e) {
    EXPECT_NE(std::string(e.what()).find("bfloat16 tensors by sum only"), std::string::npos) << e.what();
  }
}

TEST(Communicator, UnsupportedCallsSayWhichBackend) {
  MpiCommunicator comm(testing::mpi_session());
  auto unsupported = torch::zeros({2}, torch::kBool);
  try {
    comm.allreduce(unsupported, ReduceOp::kSum);
    FAIL() << "expected an error";
  } catch (const Error& e) {
    EXPECT_NE(std::string(e.what()).find("backend mpi does not support dtype"), std::string::npos)
        << e.what();
  }
  auto strided = torch::zeros({4, 4}).t();
  EXPECT_THROW(comm.allreduce(strided, ReduceOp::kSum), Error);
}

// Several collectives in flight at once, waited for in any order: each
// completes with its own closed-form sum, and the caller computes meanwhile.
TEST(Communicator, AsynchronousCollectivesOverlapAndCompleteInOrder) {
  MpiCommunicator comm(testing::mpi_session());
  const int r = comm.rank(), p = comm.size();
  std::vector<torch::Tensor> tensors;
  std::vector<WorkHandle> works;
  for (int k = 0; k < 4; ++k) {
    tensors.push_back(torch::full({1000 * (k + 1)}, static_cast<double>(r + k), torch::kDouble));
    works.push_back(comm.allreduce_async(tensors.back(), ReduceOp::kSum));
  }
  auto busy = torch::randn({200, 200}).mm(torch::randn({200, 200}));  // the caller goes on
  EXPECT_EQ(busy.size(0), 200);
  for (int k = 3; k >= 0; --k) {
    works[static_cast<size_t>(k)]->wait(comm.timeout());
    EXPECT_TRUE(works[static_cast<size_t>(k)]->completed());
    EXPECT_TRUE(torch::equal(tensors[static_cast<size_t>(k)],
                             torch::full({1000 * (k + 1)}, p * (p - 1) / 2.0 + p * k, torch::kDouble)));
  }
  EXPECT_NE(works[2]->what().find("allreduce (sum) of 3000 Double (collective #"), std::string::npos)
      << works[2]->what();
}

// A rank that arrives late: the others' wait gives up at the deadline with a
// message naming the collective; the late rank's arrival then completes it.
TEST(Communicator, AWaitGivesUpAtTheDeadlineNamingTheCollective) {
  MpiCommunicator comm(testing::mpi_session(), MpiCommunicator::Scope::kWorld, std::chrono::milliseconds(500));
  if (comm.size() < 2) GTEST_SKIP() << "needs a second rank to be late";
  EXPECT_EQ(comm.timeout(), std::chrono::milliseconds(500));
  auto t = torch::ones({16});
  if (comm.rank() == comm.size() - 1) std::this_thread::sleep_for(std::chrono::milliseconds(1500));
  auto work = comm.allreduce_async(t, ReduceOp::kSum);
  if (comm.rank() == 0) {
    const auto start = std::chrono::steady_clock::now();
    try {
      work->wait(comm.timeout());
      FAIL() << "rank 0 should have given up waiting";
    } catch (const Error& e) {
      EXPECT_NE(std::string(e.what()).find("allreduce (sum) of 16 Float (collective #1): not completed within 0.5 s"),
                std::string::npos)
          << e.what();
    }
    const double waited = std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
    EXPECT_GE(waited, 0.5);
    EXPECT_LT(waited, 1.4);
  }
  work->wait(std::chrono::seconds(30));
  EXPECT_TRUE(torch::equal(t, torch::full({16}, static_cast<float>(comm.size()))));
}

// Rank r contributes {r, 10 r} and the text "rank r" padded by r dots: every
// rank receives everyone's, in rank order.
TEST(TensorCollectives, AllgatherValuesAndStringsInRankOrder) {
  MpiCommunicator comm(testing::mpi_session());
  const int r = comm.rank(), p = comm.size();
  const auto values = allgather_values(comm, {1.0 * r, 10.0 * r});
  ASSERT_EQ(values.size(), static_cast<size_t>(2 * p));
  for (int q = 0; q < p; ++q) {
    EXPECT_EQ(values[2 * q], q);
    EXPECT_EQ(values[2 * q + 1], 10 * q);
  }
  const auto texts = allgather_strings(comm, "rank " + std::to_string(r) + std::string(static_cast<size_t>(r), '.'));
  ASSERT_EQ(texts.size(), static_cast<size_t>(p));
  for (int q = 0; q < p; ++q) EXPECT_EQ(texts[q], "rank " + std::to_string(q) + std::string(static_cast<size_t>(q), '.'));
  EXPECT_EQ(allgather_strings(comm, ""), std::vector<std::string>(static_cast<size_t>(p)));
}

TEST(Factory, ParsesBackendNames) {
  EXPECT_EQ(parse_choice<Backend>("auto", "--backend"), Backend::kAuto);
  EXPECT_EQ(parse_choice<Backend>("mpi", "--backend"), Backend::kMpi);
  EXPECT_EQ(parse_choice<Backend>("nccl", "--backend"), Backend::kNccl);
  EXPECT_THROW(parse_choice<Backend>("gloo", "--backend"), Error);
}

TEST(Factory, AutoPicksMpiWithoutGpus) {
  if (torch::cuda::is_available()) GTEST_SKIP() << "a GPU is visible";
  auto comm = create_communicator(testing::mpi_session(), Backend::kAuto, std::chrono::seconds(30));
  EXPECT_EQ(comm->backend(), "mpi");
}

TEST(Factory, NcclWithoutGpuIsAClearError) {
  if (torch::cuda::is_available()) GTEST_SKIP() << "a GPU is visible";
  try {
    create_communicator(testing::mpi_session(), Backend::kNccl, std::chrono::seconds(30));
    FAIL() << "expected an error";
  } catch (const Error& e) {
    const std::string what = e.what();
    EXPECT_TRUE(what.find("no CUDA device") != std::string::npos ||
                what.find("has no NCCL") != std::string::npos)
        << what;
  }
}

}  // namespace
}  // namespace distgru::dist
