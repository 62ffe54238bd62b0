#include "distributed/mpi_session.h"

#include <mpi.h>

#include <cstdlib>

#include "distributed/mpi_check.h"

namespace distgru::dist {

std::string mpi_error_string(int code) {
  char text[MPI_MAX_ERROR_STRING];
  int len = 0;
  if (MPI_Error_string(code, text, &len) != MPI_SUCCESS) return "MPI error " + std::to_string(code);
  return std::string(text, len) + " (code " + std::to_string(code) + ")";
}

MpiSession::MpiSession(int* argc, char*** argv) {
  int initialized = 0;
  DISTGRU_MPI_CHECK(MPI_Initialized(&initialized));
  DISTGRU_CHECK(!initialized, "MpiSession: MPI is already initialised");
  int provided = 0;
  // SERIALIZED: each communicator's thread makes its MPI calls while the main
  // thread computes, one thread at a time (mpi_call_mutex). An MPI that
  // provides less is called from the thread that starts each collective
  // (work_queue.h), with no overlap and no deadline.
  DISTGRU_MPI_CHECK(MPI_Init_thread(argc, argv, MPI_THREAD_SERIALIZED, &provided));
  // Errors as return codes, so every call site can throw with its context.
  DISTGRU_MPI_CHECK(MPI_Comm_set_errhandler(MPI_COMM_WORLD, MPI_ERRORS_RETURN));
  DISTGRU_MPI_CHECK(MPI_Comm_rank(MPI_COMM_WORLD, &rank_));
  DISTGRU_MPI_CHECK(MPI_Comm_size(MPI_COMM_WORLD, &size_));
  char name[MPI_MAX_PROCESSOR_NAME];
  int len = 0;
  DISTGRU_MPI_CHECK(MPI_Get_processor_name(name, &len));
  hostname_.assign(name, len);
  // Every rank has joined once this returns: Open MPI's MPI_Init waits for
  // the others (its modex) by default, but not with every setting or MPI, and
  // a start-up deadline (runtime/startup_deadline.h) ends when the session is
  // made.
  DISTGRU_MPI_CHECK(MPI_Barrier(MPI_COMM_WORLD));
  set_process_label(rank_label(rank_, size_, hostname_));
}

MpiSession::~MpiSession() {
  int finalized = 0;
  MPI_Finalized(&finalized);
  if (!finalized) MPI_Finalize();
}

std::string mpi_library_version() {
  char text[MPI_MAX_LIBRARY_VERSION_STRING];
  int length = 0;
  if (MPI_Get_library_version(text, &length) != MPI_SUCCESS) return "unknown";
  std::string version(text, static_cast<size_t>(length));
  return version.substr(0, version.find_first_of("\n,"));
}

std::mutex& mpi_call_mutex() {
  static std::mutex mutex;
  return mutex;
}

void abort_job(int code) {
  int initialized = 0, finalized = 0;
  MPI_Initialized(&initialized);
  MPI_Finalized(&finalized);
  if (initialized && !finalized) MPI_Abort(MPI_COMM_WORLD, code);
  std::_Exit(code);
}

}  // namespace distgru::dist
