#pragma once
// What all ranks must agree on after each step, in one collective: the
// global mean loss (the sum of the ranks' local losses, each already divided
// by the global batch) and whether any rank was asked to stop (a stop signal:
// runtime/stop_signals.h). So every rank logs the same loss, checks it the
// same way, and stops at the same step boundary.

#include "distributed/communicator.h"

namespace distgru::train {

struct StepAgreement {
  double loss = 0.0;    // mean over the global batch
  int stop_signal = 0;  // the largest signal number any rank received; 0: none
};

// collective: one allgather of two numbers per rank. The losses are added in
// rank order, so every rank computes the same sum to the last bit.
StepAgreement agree_after_step(dist::Communicator& comm, double local_loss, int stop_signal);

}  // namespace distgru::train
