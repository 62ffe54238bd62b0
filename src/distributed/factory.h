#pragma once
// Chooses and builds a Communicator. The only place that knows whether NCCL
// was compiled in.

#include <chrono>
#include <memory>
#include <string>

#include "common/choice.h"
#include "distributed/communicator.h"
#include "distributed/mpi_session.h"

namespace distgru::dist {

enum class Backend { kAuto, kMpi, kNccl };

// True when this build contains the NCCL backend.
bool nccl_compiled();

// kAuto picks nccl when it is compiled in and a CUDA device is visible, else
// mpi. Asking for nccl in a build without it fails with a clear message.
// collective: every rank calls it with the same arguments.
// `timeout` bounds every collective's wait (--collective-timeout); one that
// waits longer than `stall_warning` is reported (--stall-warning).
std::unique_ptr<Communicator> create_communicator(const MpiSession& session, Backend backend,
                                                  std::chrono::seconds timeout,
                                                  std::chrono::seconds stall_warning = kDefaultStallWarning);

}  // namespace distgru::dist

template <>
struct distgru::ChoiceNames<distgru::dist::Backend> {
  using E = dist::Backend;
  static constexpr std::array<std::pair<E, std::string_view>, 3> kValues{
      {{E::kAuto, "auto"}, {E::kMpi, "mpi"}, {E::kNccl, "nccl"}}};
};
