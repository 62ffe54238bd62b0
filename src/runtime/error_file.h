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

// A crash is reported the same way. After this call, a fatal signal
// (SIGSEGV, SIGBUS, SIGFPE, SIGILL, SIGABRT) makes this process print
//   [rank 1/3 on node2] crashed: SIGSEGV (segmentation fault) at address 0x10
// and a backtrace (glibc's backtrace_symbols_fd) on stderr, and write that
// line as the error of rank-<R>.json, unless record_fatal_error has already
// written this process's error (an abort on the way out of an error keeps
// the error). Then the signal's earlier action runs (Open MPI's own report,
// then the default), so the process still dies of the signal and the exit
// status says so (139 for SIGSEGV). Without it a launcher sees only that
// status ("srun: training step ended with status 139"), not which rank on
// which host crashed.
// Call once per process, after MPI_Init (Open MPI installs its handlers
// there; they are kept and run after this one). The handler does only
// async-signal-safe work (open, write, rename, clock_gettime; backtrace's
// library is loaded here, not in the handler). Throws nothing.
void install_crash_report(int rank, int world_size, const std::string& host) noexcept;

}  // namespace distgru::runtime
