#pragma once
// The settings of this process that decide training speed, made by distgru
// itself rather than left to the user: thread pools sized so that N ranks on
// a C-core host never oversubscribe it, the allocator kept from churning
// pages, and denormal floats flushed to zero. Every executable that runs the
// model calls configure_threads() once, after MPI is up and before the first
// tensor operation.

#include <string>

namespace distgru::runtime {

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

// The settings configure_allocator() made, written as glibc's own tunables
// ("glibc.malloc.mmap_max=0:glibc.malloc.trim_threshold=...:..."; glibc manual,
// "Memory Allocation Tunables"), so that another process (the bench's PyTorch
// baseline) can be given the same allocator by GLIBC_TUNABLES. Empty before
// configure_allocator() ran or when it left the user's GLIBC_TUNABLES alone.
std::string allocator_tunables();

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
// them, which covers LibTorch's pools (started lazily, after this).
// OpenBLAS's own workers, started when it loaded, keep the default; with one
// BLAS thread per rank (what the launchers set) there are none. Returns
// whether the CPU supports it.
bool configure_denormals();

// Whether this thread flushes denormals to zero (for the logs).
bool flushes_denormals();

// Cores this process may run on (sched_getaffinity), at least 1.
int available_cores();

}  // namespace distgru::runtime
