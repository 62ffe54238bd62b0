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

// Set once after MPI is up ("rank 1/4 on host"); prefixed to every Error.
void set_process_label(std::string label);
const std::string& process_label();

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
