#pragma once
// OpenBLAS picks its kernels once, when it loads, from the CPU model; a model
// newer than the library (here: family 6 model 207 for OpenBLAS 0.3.21) falls
// back to Prescott's SSE3 kernels, 4-6x slower than the AVX-512 ones on the
// same core (measured: a [64x128]x[128x384] GEMM at 34 vs 154 GFLOP/s).
// distgru asks for the right kernels itself, before anything else runs.

#include <string>

namespace distgru::runtime {

// The core type to ask for instead, or "" to keep what was detected: the
// best kernel family the CPU supports when the detected one is pre-AVX2.
std::string better_blas_core(const std::string& detected, bool avx512, bool avx2_fma);

// Called first thing in main, before any thread or MPI: when OpenBLAS chose
// kernels older than the CPU supports and OPENBLAS_CORETYPE is unset, sets it
// and re-executes this program (same pid, arguments and environment), so the
// library loads with the right kernels. Under mpirun or srun this happens
// before MPI_Init, where exec is harmless. OPENBLAS_CORETYPE set by the user
// is left alone.
void use_best_blas_kernels(char** argv);

// "OpenBLAS SkylakeX kernels (detected Prescott; chosen by distgru)", or what
// is known of the BLAS in use.
std::string blas_summary();

}  // namespace distgru::runtime
