#pragma once
// --deterministic: the switches that make a CUDA run repeat itself bit for
// bit, as PyTorch documents them ("Reproducibility", pytorch.org/docs/stable/
// notes/randomness.html): cuDNN restricted to its deterministic algorithms
// and its benchmark (autotuning, which may pick a different algorithm per
// run) off; CUBLAS_WORKSPACE_CONFIG=:4096:8, without which cuBLAS may split
// a reduction differently from run to run on CUDA 10.2 and later; and
// LibTorch's deterministic-algorithms switch, under which an operation that
// has no deterministic CUDA kernel throws, naming itself, instead of running
// one that is not. CPU runs need none of it: distgru's CPU path is
// deterministic for a given thread count already (tests: FastGRU.
// DeterministicAndIndependentOfThreadCount, the ResumeBitExact suite).

#include <string>

namespace distgru::runtime {

// Call before the first CUDA operation (the cuBLAS variable is read when
// cuBLAS starts); every rank calls it. Leaves CUBLAS_WORKSPACE_CONFIG as the
// user set it when set. Returns what it did, for the log.
std::string make_deterministic();

}  // namespace distgru::runtime
