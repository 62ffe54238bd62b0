#pragma once
// What built and ran a result, so a figure, a checkpoint or an exported model
// can be traced back: distgru's version and git commit, the LibTorch, Open MPI
// and HDF5 versions, the BLAS and its kernels, the GRU's kernels, the CPU
// model and its instruction sets, and the hosts, ranks and threads per rank
// of each host. It is on the log's first line, in metrics.jsonl's first
// record of each run, in every checkpoint and in an exported model's
// config.json.

#include <nlohmann/json.hpp>

#include <string>

#include "distributed/communicator.h"

namespace distgru::train {

// collective when `comm` is given (the hosts of every rank are gathered);
// without one, this process alone.
nlohmann::json provenance(dist::Communicator* comm);

// One line of it for the log: "distgru 0.1.0 (git 1a2b3c4d5e6f), LibTorch 1.13.1, ...".
std::string provenance_line(const nlohmann::json& provenance);

}  // namespace distgru::train
