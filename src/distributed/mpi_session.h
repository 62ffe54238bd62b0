#pragma once
// RAII owner of MPI's lifetime (as Gloo's MPIScope): MPI_Init_thread and a
// barrier of every rank in the constructor (collective), MPI_Finalize in the
// destructor. One per process, created first
// in main(). A failure anywhere else goes through abort_job(), which takes the
// whole job down instead of leaving the other ranks blocked in a collective.

#include <mutex>
#include <string>

namespace distgru::dist {

class MpiSession {
 public:
  MpiSession(int* argc, char*** argv);
  ~MpiSession();
  MpiSession(const MpiSession&) = delete;
  MpiSession& operator=(const MpiSession&) = delete;

  int world_rank() const { return rank_; }
  int world_size() const { return size_; }
  const std::string& hostname() const { return hostname_; }

 private:
  int rank_ = 0;
  int size_ = 1;
  std::string hostname_;
};

// The lock held around every MPI call made outside the main thread's start
// and end (communicators' calls, from their threads): MPI is initialised with
// MPI_THREAD_SERIALIZED, which allows calls from any thread but never two at
// once.
std::mutex& mpi_call_mutex();

// The first line of MPI_Get_library_version ("Open MPI v4.1.4, package: ...").
std::string mpi_library_version();

// Ends every rank of the job with `code` (MPI_Abort when MPI is up, else exit).
[[noreturn]] void abort_job(int code);

}  // namespace distgru::dist
