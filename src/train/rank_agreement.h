#pragma once
// What all ranks must agree on, each checked with one collective:
//   - at start, the settings: every rank's effective config and the data it
//     reads must be rank 0's (a config file that differs between nodes
//     otherwise makes the replicas drift apart, or corrupts a collective);
//   - after each step, the global mean loss (the sum of the ranks' local
//     losses, each already divided by the global batch) and whether any rank
//     was asked to stop (runtime/stop_signals.h), so every rank logs the same
//     loss, checks it the same way, and stops at the same step boundary.

#include <functional>
#include <string>

#include "distributed/communicator.h"
#include "train/config.h"

namespace distgru::train {

// collective: `settings` is this rank's "key = value" lines of everything
// that must be the same on every rank (the settings table without its
// rank-local rows, and the data's fingerprint). One allgather of a digest;
// when any rank differs, every rank gathers every rank's lines and throws the
// same AgreedError naming, for each rank that differs, each key and both
// values: "rank 1 has steps = 20 where rank 0 has steps = 40".
void check_settings_agree(dist::Communicator& comm, const std::string& settings, const std::string& tool);

// collective: `config`, once every rank has been found to run with the same
// one (settings_agreement_text).
TrainConfig agreed_config(TrainConfig config, dist::Communicator& comm);

// collective: runs `check` (a test of a file or a setting every rank
// makes before training) on every rank. When it throws distgru::Error on
// any rank, every rank throws the same AgreedError (kExitRefused): the
// message, when every rank failed with the same, else "rank R: message"
// for each rank that failed. So a refusal before training ends the job cleanly with status
// 2, where one rank's exception would abort it with MPI's boilerplate.
void agree_on_check(dist::Communicator& comm, const std::function<void()>& check);

// collective: rank 0's `refusal` (the others' is ignored; empty: none)
// becomes every rank's AgreedError (kExitRefused), for a decision only rank
// 0 can make (the run directory's lock and contents, the word vectors it
// reads for all).
void agree_on_root_refusal(dist::Communicator& comm, const std::string& refusal);

struct StepAgreement {
  double loss = 0.0;    // mean over the global batch
  int stop_signal = 0;  // the largest signal number any rank received; 0: none
};

// collective: one allgather of two numbers per rank. The losses are added in
// rank order, so every rank computes the same sum to the last bit.
StepAgreement agree_after_step(dist::Communicator& comm, double local_loss, int stop_signal);

}  // namespace distgru::train
