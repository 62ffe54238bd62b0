#pragma once
// Collectives over whole lists of tensors and over host values, built on the
// communicator: one fused call each, so a model's parameters, a path or a
// checkpoint choice cost one collective whatever their number.

#include <torch/torch.h>

#include <string>
#include <vector>

#include "distributed/communicator.h"

namespace distgru::dist {

// collective: replaces every rank's tensors with root's (one fused broadcast).
void broadcast_tensors(Communicator& comm, const std::vector<torch::Tensor>& tensors, int root = 0);

// collective: root's `text` on every rank (other ranks' argument is ignored).
std::string broadcast_string(Communicator& comm, const std::string& text, int root = 0);

// collective: true on every rank when all ranks hold bit-identical tensors.
bool tensors_identical_across_ranks(Communicator& comm, const std::vector<torch::Tensor>& tensors);

// collective: every rank's `values` (the same count on every rank), in rank
// order: result[r * values.size() + i] is rank r's values[i]. One allgather,
// for the few numbers the ranks must agree on each step.
std::vector<double> allgather_values(Communicator& comm, const std::vector<double>& values);

// collective: every rank's `text`, in rank order (two allgathers: the
// lengths, then the bytes padded to the longest).
std::vector<std::string> allgather_strings(Communicator& comm, const std::string& text);

// Copies the tensors into one new flat tensor (same dtype as the first).
torch::Tensor flatten_tensors(const std::vector<torch::Tensor>& tensors);

}  // namespace distgru::dist
