#include "runtime/stop_signals.h"

#include <csignal>

#include "runtime/stop_signals_testing.h"

namespace distgru::runtime {
namespace {
volatile std::sig_atomic_t g_stop_signal = 0;
volatile std::sig_atomic_t g_interrupts = 0;

extern "C" void record_stop_signal(int signal) {
  if (signal == SIGINT && ++g_interrupts > 1) {
    // A second Ctrl-C: the user will not wait for the checkpoint. Die of
    // SIGINT as a program without a handler would (both calls are
    // async-signal-safe).
    struct sigaction fallback {};
    fallback.sa_handler = SIG_DFL;
    sigaction(SIGINT, &fallback, nullptr);
    raise(SIGINT);
    return;
  }
  if (g_stop_signal == 0) g_stop_signal = signal;
}
}  // namespace

void install_stop_signal_handlers() {
  struct sigaction action {};
  action.sa_handler = record_stop_signal;
  sigemptyset(&action.sa_mask);
  action.sa_flags = SA_RESTART;  // MPI and file I/O carry on undisturbed
  sigaction(SIGUSR1, &action, nullptr);
  sigaction(SIGTERM, &action, nullptr);
  sigaction(SIGINT, &action, nullptr);
}

int stop_signal() { return g_stop_signal; }

namespace testing {
void raise_stop_signal(int signal) { g_stop_signal = signal; }
}  // namespace testing

}  // namespace distgru::runtime
