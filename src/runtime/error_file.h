#pragma once
// The first failure of a job, where its launcher can read it: the protocol of
// torchrun's TORCHELASTIC_ERROR_FILE. A launcher (launch/supervise.sh) sets
// DISTGRU_ERROR_DIR to a directory on a filesystem every host sees; a rank
// that ends the job with an error writes <dir>/rank-<R>.json
//   {"rank": R, "world_size": N, "host": "node2", "pid": 4242,
//    "time": "2026-11-30T14:09:47Z", "unix_time": 1796047787.1, "error": "..."}
// before it aborts the job. The launcher then knows the job has failed, and
// which rank on which host saw it first, even while mpirun still waits for
// an unreachable host (after a partition or a lost host, Open MPI's daemon
// waits for TCP to give up: ~15 minutes with Linux's defaults).
//
// Called on the way out of a failing process: never throws; a write that
// fails is reported on stderr and otherwise ignored.

#include <string>

namespace distgru::runtime {

// Where a launcher asked for errors to go ("" when DISTGRU_ERROR_DIR is not set).
std::string error_dir();

// Writes this rank's failure as described above (nothing when error_dir() is "").
void record_fatal_error(int rank, int world_size, const std::string& host, const std::string& message) noexcept;

}  // namespace distgru::runtime
