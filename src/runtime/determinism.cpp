#include "runtime/determinism.h"

#include <ATen/Context.h>

#include <cstdlib>

namespace distgru::runtime {

std::string make_deterministic() {
  // ":4096:8": eight 4 MiB workspaces, the larger of the two settings
  // PyTorch names; it costs about 24 MiB of GPU memory.
  const bool user_set = std::getenv("CUBLAS_WORKSPACE_CONFIG") != nullptr;
  ::setenv("CUBLAS_WORKSPACE_CONFIG", ":4096:8", /*overwrite=*/0);
  auto& context = at::globalContext();
  context.setBenchmarkCuDNN(false);
  context.setDeterministicCuDNN(true);
  context.setDeterministicAlgorithms(true, /*warn_only=*/false);
  return std::string("deterministic: cuDNN deterministic algorithms, cuDNN benchmark off, ") +
         "CUBLAS_WORKSPACE_CONFIG=" + std::getenv("CUBLAS_WORKSPACE_CONFIG") + (user_set ? " (yours)" : "") +
         ", LibTorch's deterministic algorithms (an operation without one fails, naming itself); "
         "CPU runs are deterministic for a given thread count with or without it";
}

}  // namespace distgru::runtime
