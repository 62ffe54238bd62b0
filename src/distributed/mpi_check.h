#pragma once
// Private to src/distributed: checks an MPI call and throws distgru::Error with the
// call, the code and MPI's own message.

#include <mpi.h>

#include <string>

#include "common/error.h"

namespace distgru::dist {
std::string mpi_error_string(int code);
}

#define DISTGRU_MPI_CHECK(call)                                                       \
  do {                                                                               \
    const int distgru_mpi_rc_ = (call);                                              \
    if (distgru_mpi_rc_ != MPI_SUCCESS)                                              \
      ::distgru::throw_error(std::string(#call) + " failed: " +                     \
                                 ::distgru::dist::mpi_error_string(distgru_mpi_rc_), \
                             __FILE__, __LINE__);                                    \
  } while (0)
