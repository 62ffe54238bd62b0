#pragma once
// Preemption and Ctrl-C: SIGUSR1, SIGTERM and a first SIGINT only record
// that they arrived. The trainer looks at the record at each step boundary,
// all ranks agree on it with one collective, rank 0 writes a checkpoint, and
// every rank exits with kExitCheckpointed. A second SIGUSR1 or SIGTERM while
// that happens changes nothing: the handler never does more than store a
// number. A second SIGINT (Ctrl-C pressed again) ends the process at once,
// as Ctrl-C does to a program without a handler.

namespace distgru::runtime {

// Exit status meaning "checkpointed after a stop signal, please requeue"
// (EX_TEMPFAIL from sysexits.h: a temporary failure, try again).
constexpr int kExitCheckpointed = 75;

void install_stop_signal_handlers();

// 0, or the number of the first stop signal received.
int stop_signal();

}  // namespace distgru::runtime
