#pragma once
// One error policy for the whole project: every failure at a library boundary
// (MPI, NCCL, CUDA, HDF5, libarchive, files) throws distgru::Error carrying the
// call, file:line, the library's message and this process's label ("rank 1/4").
// main() catches once, logs, and aborts the job so no rank waits forever.

#include <stdexcept>
#include <string>

namespace distgru {

class Error : public std::runtime_error {
 public:
  using std::runtime_error::runtime_error;
};

// Exit statuses of the executables.
constexpr int kExitFailure = 1;  // an error; the job was aborted or ended with it
constexpr int kExitRefused = 2;  // bad flags, or a run refused before it started (the message says why)

// An error that every rank meets at the same point for the same reason,
// because the ranks agreed on it through a collective first: bad flags,
// settings that differ between ranks, a run directory in use, a loss that
// diverged. The job then ends cleanly, without MPI_Abort: rank 0 reports the
// message once and every rank exits with exit_code().
class AgreedError : public Error {
 public:
  AgreedError(const std::string& what, int exit_code) : Error(what), exit_code_(exit_code) {}
  int exit_code() const { return exit_code_; }

 private:
  int exit_code_;
};

// Set once after MPI is up ("rank 1/4 on host"); prefixed to every Error.
void set_process_label(std::string label);

// "rank 1/4 on host": the label above, and the "[...]" that starts the
// messages a launcher reads from a rank (its error file, a crash, a start-up
// that timed out). A negative rank or world size, not known yet, shows as "?".
std::string rank_label(int rank, int world_size, const std::string& host);
const std::string& process_label();

// `what` (an Error's message) without this process's "[label] " in front:
// the same text on every rank that met the same problem, for comparing the
// ranks' messages or reporting them once.
std::string without_process_label(const std::string& what);

// Builds the message "[label] what (at file:line)" and throws Error.
[[noreturn]] void throw_error(const std::string& what, const char* file, int line);

}  // namespace distgru

// Throws distgru::Error with `msg` (anything streamable into a std::string via
// operator+) when `cond` is false. For checks of user input and invariants.
#define DISTGRU_CHECK(cond, msg)                                  \
  do {                                                            \
    if (!(cond)) ::distgru::throw_error((msg), __FILE__, __LINE__); \
  } while (0)

#define DISTGRU_FAIL(msg) ::distgru::throw_error((msg), __FILE__, __LINE__)
