#pragma once
// The one place where an MPI program's errors end: a usage error (bad flag,
// unreadable config) or another error the ranks agreed on (AgreedError,
// common/error.h) is the same on every rank, so rank 0 reports it and all
// exit cleanly with its status; any other error is reported by the rank that
// hit it, which then aborts the whole job so no other rank waits for it in a
// collective, after writing it to the launcher's error file
// (runtime/error_file.h).

#include <chrono>
#include <exception>
#include <iostream>
#include <memory>
#include <thread>

#include "common/error.h"
#include "common/log.h"
#include "distributed/mpi_session.h"
#include "runtime/blas_kernels.h"
#include "runtime/error_file.h"
#include "runtime/process_settings.h"
#include "runtime/startup_deadline.h"

namespace distgru::cli {

// Thrown for command-line problems, before any collective has started.
struct UsageError : AgreedError {
  explicit UsageError(const std::string& what) : AgreedError(what, kExitRefused) {}
};

// Runs `parse` (a tool's command-line parser); any distgru::Error it throws
// is the user's to fix, so it becomes a UsageError.
template <typename Parse>
auto parse_or_usage_error(Parse parse) -> decltype(parse()) {
  try {
    return parse();
  } catch (const UsageError&) {
    throw;
  } catch (const Error& e) {
    throw UsageError(e.what());
  }
}

// A tool's settings from `parse` (which returns .config and .help), or
// nothing when --help was asked for: rank 0 has then printed the help.
template <typename Parse>
auto settings_or_help(const dist::MpiSession& session, Parse parse) -> decltype(parse().config) {
  auto parsed = parse_or_usage_error(parse);
  if (!parsed.config && session.world_rank() == 0) std::cout << parsed.help << std::endl;
  return parsed.config;
}

template <typename Body>
int run_mpi_program(int argc, char** argv, Body body) {
  runtime::use_best_blas_kernels(argv);  // may re-exec this program: before MPI and threads
  std::unique_ptr<dist::MpiSession> session;
  try {
    // Until every rank has joined, no collective deadline or heartbeat can
    // notice a rank that never comes (runtime/startup_deadline.h).
    runtime::StartupDeadline deadline;
    session = std::make_unique<dist::MpiSession>(&argc, &argv);
  } catch (const std::exception& e) {
    std::cerr << "error: " << e.what() << std::endl;
    return 1;
  }
  init_logging(session->world_rank(), session->world_size());
  // After MPI_Init, whose signal handlers it keeps and runs after its own.
  runtime::install_crash_report(session->world_rank(), session->world_size(), session->hostname());
  try {
    return body(*session, argc, argv);
  } catch (const AgreedError& e) {
    if (session->world_rank() == 0) std::cerr << "error: " << e.what() << std::endl;
    return e.exit_code();
  } catch (const std::exception& e) {
    spdlog::error("{}", e.what());
    // Before the abort: the launcher learns the cause even if mpirun then
    // waits for an unreachable host (runtime/error_file.h).
    runtime::record_fatal_error(session->world_rank(), session->world_size(), session->hostname(), e.what());
    // Rank 0 is the one that can name a late or silent rank (arrivals,
    // heartbeat); when another rank's collective gives up at the same
    // deadline, its abort would kill rank 0 before rank 0 says so. A second's
    // head start keeps that message.
    if (session->world_rank() != 0 && session->world_size() > 1) {
      std::this_thread::sleep_for(std::chrono::seconds(1));
    }
    spdlog::error("aborting all ranks");
    spdlog::shutdown();
    dist::abort_job(1);
  }
}

}  // namespace distgru::cli
