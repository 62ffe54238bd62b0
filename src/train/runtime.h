#pragma once
// Thread pools sized so that N ranks on a C-core host never oversubscribe it,
// the allocator kept from churning pages, OpenBLAS kept from falling back to
// old kernels, and denormal floats flushed to zero: the run-time settings
// that decide training speed, set by distgru itself rather than left to the
// user.

#include <string>

namespace distgru::train {

// OpenBLAS picks its kernels once, when it loads, from the CPU model; a model
// newer than the library (here: family 6 model 207 for OpenBLAS 0.3.21) falls
// back to Prescott's SSE3 kernels, 4-6x slower than the AVX-512 ones on the
// same core (measured: a [64x128]x[128x384] GEMM at 34 vs 154 GFLOP/s).
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

// requested > 0 is taken as is; 0 means the cores this rank is bound to when a
// launcher bound it, else max(1, cores / ranks_on_this_host).
// Sets LibTorch's intra-op pool, one inter-op thread, and OpenBLAS's own pool
// (which ignores torch::set_num_threads) when OpenBLAS is the BLAS in use.
// Also calls configure_allocator() and configure_denormals(), so every
// executable that sizes its pools gets those settings too. Returns the thread
// count chosen.
int configure_threads(int requested, int local_ranks);

// Keeps glibc's malloc from handing the large per-step buffers (GRU gates and
// gradients, tens of MB each) back to the kernel and faulting them in again on
// the next step: large blocks come from the heap instead of fresh mmaps, and
// the heap is not trimmed. Measured at 20-26% of a training step otherwise.
// Idempotent; a no-op when the user set GLIBC_TUNABLES (theirs wins).
void configure_allocator();

// Denormal floats (below 1.2e-38 in magnitude) cost the CPU a microcode
// assist of a hundred cycles or more per operation. The first tens of steps
// of a freshly initialised model make enough of them to run about a quarter
// slower: the benchmark's window (steps 4-15) measured 476 against 391
// samples/s at 2 ranks x 1 thread, in the same run. Later steps run as fast
// either way (after 60 steps: 425 against 418), and the README run's results
// are the same to the last digit either way. Where they come from: padded
// positions get no attention, so no gradient of their own, and through a
// long run of them the GRU's backward carries a gradient that shrinks at
// every step until it goes denormal. Measured on the GRU alone at one rank's
// batch: with the output gradient zero over the first 200 of 256 positions,
// its backward took 1.68 s instead of 0.17 s; over the first 100, no change.
// Flushing them to zero (MXCSR's FTZ and DAZ bits) is also what TensorFlow's
// CPU kernels do. Sets this thread's bits; threads started afterwards inherit
// them, which covers LibTorch's pools (started lazily, after this). OpenBLAS's own workers, started when it loaded, keep the
// default; with one BLAS thread per rank (what the launchers set) there are
// none. Returns whether the CPU supports it.
bool configure_denormals();

// Whether this thread flushes denormals to zero (for the logs).
bool flushes_denormals();

// Cores this process may run on (sched_getaffinity), at least 1.
int available_cores();

}  // namespace distgru::train
