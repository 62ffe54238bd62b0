#include "distributed/communicator.h"

#include <c10/core/ScalarType.h>

#include "common/error.h"

#include <cstdio>

namespace distgru::dist {

std::string timeout_message(const std::string& what, std::chrono::milliseconds timeout) {
  char seconds[32];
  std::snprintf(seconds, sizeof(seconds), "%g", std::chrono::duration<double>(timeout).count());
  return what + ": not completed within " + seconds +
         " s (--collective-timeout): another rank died, stalled, or is in a different collective";
}

void Communicator::allreduce(torch::Tensor& tensor, ReduceOp op) { allreduce_async(tensor, op)->wait(timeout_); }

void Communicator::broadcast(torch::Tensor& tensor, int root) { broadcast_async(tensor, root)->wait(timeout_); }

void Communicator::allgather(const torch::Tensor& input, torch::Tensor& output) {
  allgather_async(input, output)->wait(timeout_);
}

void Communicator::barrier() { barrier_async()->wait(timeout_); }

std::string Communicator::describe(const char* op, const torch::Tensor& tensor, const std::string& detail) {
  std::string text = op;
  if (!detail.empty()) text += " (" + detail + ")";
  if (tensor.defined()) {
    text += " of " + std::to_string(tensor.numel()) + " " + std::string(c10::toString(tensor.scalar_type()));
  }
  return text;
}

}  // namespace distgru::dist
