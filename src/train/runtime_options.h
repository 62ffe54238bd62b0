#pragma once
// How a multi-rank tool runs, the same three settings for distgru-train,
// -eval and -report: the communicator backend, the threads per rank, and how
// long a collective may wait for the other ranks. Each tool's option table
// takes the same rows (add_runtime_settings), and start_ranks() turns them
// into a communicator with the process set up the same way everywhere.

#include <cstdint>
#include <memory>
#include <string>

#include "common/option_table.h"
#include "distributed/communicator.h"
#include "distributed/factory.h"
#include "distributed/mpi_session.h"

namespace distgru::dist {
DISTGRU_CHOICE_OPTION(Backend)
}  // namespace distgru::dist

namespace distgru::train {

struct RuntimeOptions {
  dist::Backend backend = dist::Backend::kAuto;
  int64_t threads = 0;  // per rank; 0: the cores this rank is bound to, or cores / ranks on this host
  int64_t collective_timeout = dist::kDefaultCollectiveTimeout.count();  // seconds, every backend
  int64_t stall_warning = dist::kDefaultStallWarning.count();            // seconds before late ranks are named
};

// The rows of `member` (a RuntimeOptions inside Config) in `table`, under
// the group "Runtime".
template <typename Config>
void add_runtime_settings(OptionTable<Config>& table, RuntimeOptions Config::*member) {
  const std::string group = "Runtime";
  table.template add_at<dist::Backend>(
      group, "backend", [member](Config& c) -> dist::Backend& { return (c.*member).backend; },
      "communicator: " + choice_list<dist::Backend>(" | ", " | ") +
          " (auto: nccl when built with it and a GPU is visible, else mpi)");
  table.template add_at<int64_t>(
      group, "threads", [member](Config& c) -> int64_t& { return (c.*member).threads; },
      "threads per rank (0: the cores the launcher bound the rank to, else cores / ranks on this host)",
      non_negative<int64_t>, kRankLocal);
  table.template add_at<int64_t>(
      group, "collective-timeout", [member](Config& c) -> int64_t& { return (c.*member).collective_timeout; },
      "seconds a collective may wait for the other ranks before the job aborts", positive<int64_t>);
  table.template add_at<int64_t>(
      group, "stall-warning", [member](Config& c) -> int64_t& { return (c.*member).stall_warning; },
      "seconds a collective may wait before the ranks that have not arrived are named in a warning",
      positive<int64_t>);
}

// collective: every rank calls it once, first thing after parsing. Makes
// the communicator, sizes this rank's thread pools (runtime/
// process_settings.h) and logs the first line: the tool, ranks, backend,
// threads, BLAS and GRU kernels, the denormal setting and the provenance
// (train/provenance.h).
std::unique_ptr<dist::Communicator> start_ranks(const dist::MpiSession& session, const RuntimeOptions& options,
                                                const std::string& tool);

}  // namespace distgru::train
