#pragma once
// A deadline for a job's start-up: MPI_Init and the first barrier of all
// ranks (dist::MpiSession). Until every rank has joined there is no
// collective deadline and no heartbeat (distributed/heartbeat.h), so a rank
// that stalls before joining (its host hangs, or is stopped) or that a
// launcher never started leaves the others waiting in MPI_Init for ever, with
// nothing said. torchrun's rendezvous has the same kind of deadline (its
// join timeout, 600 s by default).
//
// When the deadline passes, this process prints
//   [rank 0/3 on node1] start-up: waited 600 s for the job's other ranks to
//   join (MPI_Init and the first barrier; DISTGRU_STARTUP_TIMEOUT=600): ...
// on stderr, writes it as its error file (runtime/error_file.h), and exits
// with status 1, so that the launcher ends the job and says why.
//
// DISTGRU_STARTUP_TIMEOUT: seconds (default 600; 0 turns the deadline off).
// An environment variable rather than a flag because it must act before MPI
// is up, when the command line is not yet read. The rank, world size and host
// are the launcher's (OMPI_COMM_WORLD_*, PMIX_RANK, SLURM_PROCID/NTASKS,
// PMI_*), as MPI does not know them yet.

#include <chrono>
#include <condition_variable>
#include <mutex>
#include <thread>

namespace distgru::runtime {

class StartupDeadline {
 public:
  // Starts the deadline's watch (a thread). Throws distgru::Error naming
  // DISTGRU_STARTUP_TIMEOUT when it is not a number of seconds >= 0.
  StartupDeadline();
  // Stops the watch; the deadline no longer applies.
  ~StartupDeadline();
  StartupDeadline(const StartupDeadline&) = delete;
  StartupDeadline& operator=(const StartupDeadline&) = delete;

  static constexpr std::chrono::seconds kDefaultTimeout{600};

 private:
  std::chrono::seconds timeout_;
  std::mutex mutex_;
  std::condition_variable met_;
  bool done_ = false;
  std::thread watch_;
};

}  // namespace distgru::runtime
