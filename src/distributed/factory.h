#pragma once
// Chooses and builds a Communicator. The only place that knows whether NCCL
// was compiled in.

#include <chrono>
#include <memory>
#include <string>

#include "distributed/communicator.h"
#include "distributed/mpi_session.h"

namespace distgru::dist {

enum class Backend { kAuto, kMpi, kNccl };

// "auto", "mpi" or "nccl"; throws on anything else.
Backend parse_backend(const std::string& name);

// True when this build contains the NCCL backend.
bool nccl_compiled();

// kAuto picks nccl when it is compiled in and a CUDA device is visible, else
// mpi. Asking for nccl in a build without it fails with a clear message.
// collective: every rank calls it with the same arguments.
std::unique_ptr<Communicator> create_communicator(const MpiSession& session, Backend backend,
                                                  std::chrono::seconds timeout);

}  // namespace distgru::dist
