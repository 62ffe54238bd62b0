#include "train/runtime_options.h"

#include "common/log.h"
#include "model/fast_gru.h"
#include "runtime/blas_kernels.h"
#include "runtime/process_settings.h"
#include "train/provenance.h"

namespace distgru::train {

std::unique_ptr<dist::Communicator> start_ranks(const dist::MpiSession& session, const RuntimeOptions& options,
                                                const std::string& tool) {
  auto comm = dist::create_communicator(session, options.backend, std::chrono::seconds(options.collective_timeout),
                                        std::chrono::seconds(options.stall_warning));
  const int threads = runtime::configure_threads(static_cast<int>(options.threads), comm->local_size());
  // One line, the log's first, says what made and runs this job (for Slurm
  // logs and bug reports): the run-time choices, then the provenance.
  spdlog::info("{}: {} ranks ({} on this host), backend {}, {} thread{} per rank, {}, {}, {}; provenance: {}", tool,
               comm->size(), comm->local_size(), comm->backend(), threads, threads == 1 ? "" : "s",
               runtime::blas_summary(),
               model::fast_gru_summary(),
               runtime::flushes_denormals() ? "denormals flushed to zero" : "denormals kept",
               provenance_line(provenance(comm.get())));
  return comm;
}

}  // namespace distgru::train
