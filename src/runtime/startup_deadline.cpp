#include "runtime/startup_deadline.h"

#include <unistd.h>

#include <cstdio>
#include <cstdlib>
#include <string>

#include "common/error.h"
#include "runtime/error_file.h"

namespace distgru::runtime {
namespace {

// The first of these variables the launcher set, as a number; -1 if none.
int launcher_number(std::initializer_list<const char*> names) {
  for (const char* name : names) {
    if (const char* value = std::getenv(name)) {
      char* end = nullptr;
      const long number = std::strtol(value, &end, 10);
      if (end != value && *end == '\0' && number >= 0) return static_cast<int>(number);
    }
  }
  return -1;
}

std::chrono::seconds timeout_from_environment() {
  const char* text = std::getenv("DISTGRU_STARTUP_TIMEOUT");
  if (text == nullptr || *text == '\0') return StartupDeadline::kDefaultTimeout;
  char* end = nullptr;
  const double seconds = std::strtod(text, &end);
  DISTGRU_CHECK(end != text && *end == '\0' && seconds >= 0 && seconds < 1e9,
                std::string("DISTGRU_STARTUP_TIMEOUT=") + text + ": not a number of seconds >= 0 (0: no deadline)");
  return std::chrono::seconds(static_cast<long>(seconds + 0.5));
}

[[noreturn]] void give_up(std::chrono::seconds timeout) {
  const int rank = launcher_number({"OMPI_COMM_WORLD_RANK", "PMIX_RANK", "SLURM_PROCID", "PMI_RANK"});
  const int size = launcher_number({"OMPI_COMM_WORLD_SIZE", "SLURM_NTASKS", "PMI_SIZE"});
  char host[256] = "?";
  gethostname(host, sizeof host - 1);
  const std::string who = "[" + rank_label(rank, size, host) + "]";
  const std::string seconds = std::to_string(timeout.count());
  const std::string message =
      "start-up: waited " + seconds + " s for the job's other ranks to join (MPI_Init and the first barrier; "
      "DISTGRU_STARTUP_TIMEOUT=" + seconds + "): a rank stalled before joining (its host hangs or was "
      "stopped) or was never started; giving up";
  std::fprintf(stderr, "%s %s\n", who.c_str(), message.c_str());
  std::fflush(stderr);
  record_fatal_error(rank < 0 ? 0 : rank, size < 0 ? 0 : size, host, who + " " + message);
  // Not exit(): the main thread is inside MPI_Init, whose state no
  // destructor or atexit handler may touch.
  std::_Exit(kExitFailure);
}

}  // namespace

StartupDeadline::StartupDeadline() : timeout_(timeout_from_environment()) {
  if (timeout_.count() == 0) return;
  watch_ = std::thread([this] {
    std::unique_lock<std::mutex> lock(mutex_);
    if (!met_.wait_for(lock, timeout_, [this] { return done_; })) give_up(timeout_);
  });
}

StartupDeadline::~StartupDeadline() {
  if (!watch_.joinable()) return;
  {
    std::lock_guard<std::mutex> lock(mutex_);
    done_ = true;
  }
  met_.notify_one();
  watch_.join();
}

}  // namespace distgru::runtime
