// main() for tests that run under mpirun: MPI comes up before GoogleTest,
// only rank 0 prints the per-test lines, and the exit code is the worst over
// all ranks so a failure on any rank fails the run.
#include <gtest/gtest.h>
#include <mpi.h>

#include <memory>

#include "common/log.h"
#include "support/mpi_env.h"
#include "runtime/process_settings.h"

namespace distgru::testing {
namespace {
dist::MpiSession* g_session = nullptr;
}
const dist::MpiSession& mpi_session() { return *g_session; }
}  // namespace distgru::testing

int main(int argc, char** argv) {
  ::testing::InitGoogleTest(&argc, argv);
  auto session = std::make_unique<distgru::dist::MpiSession>(&argc, &argv);
  distgru::testing::g_session = session.get();
  distgru::init_logging(session->world_rank(), session->world_size());
  distgru::runtime::configure_threads(1, 1);
  if (session->world_rank() != 0) {
    auto& listeners = ::testing::UnitTest::GetInstance()->listeners();
    delete listeners.Release(listeners.default_result_printer());
  }
  int rc = RUN_ALL_TESTS();
  int worst = 0;
  MPI_Allreduce(&rc, &worst, 1, MPI_INT, MPI_MAX, MPI_COMM_WORLD);
  return worst;
}
