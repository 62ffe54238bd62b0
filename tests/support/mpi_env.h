#pragma once
// Shared by the collective tests: the process's MPI session, set up by
// mpi_gtest_main.cpp before any test runs.

#include "distributed/mpi_session.h"

namespace distgru::testing {
const dist::MpiSession& mpi_session();
}
