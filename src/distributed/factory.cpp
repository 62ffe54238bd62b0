#include "distributed/factory.h"

#include "common/error.h"
#include "distributed/mpi_communicator.h"
#if DISTGRU_HAVE_NCCL
#include "distributed/nccl_communicator.h"
#endif

namespace distgru::dist {

bool nccl_compiled() { return DISTGRU_HAVE_NCCL != 0; }

std::unique_ptr<Communicator> create_communicator(const MpiSession& session, Backend backend,
                                                  std::chrono::seconds timeout, std::chrono::seconds stall_warning) {
  if (backend == Backend::kAuto) {
    backend = (nccl_compiled() && torch::cuda::is_available()) ? Backend::kNccl : Backend::kMpi;
  }
  auto mpi = std::make_unique<MpiCommunicator>(session, MpiCommunicator::Scope::kWorld, timeout, stall_warning);
  if (backend == Backend::kMpi) return mpi;
#if DISTGRU_HAVE_NCCL
  DISTGRU_CHECK(torch::cuda::is_available(),
                "backend nccl needs CUDA tensors, but this LibTorch sees no CUDA device");
  return std::make_unique<NcclCommunicator>(std::move(mpi), timeout, stall_warning);
#else
  DISTGRU_FAIL("backend nccl was requested but this build has no NCCL (CMake did not find it)");
#endif
}

}  // namespace distgru::dist
