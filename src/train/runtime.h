#pragma once
// Thread pools sized so that N ranks on a C-core host never oversubscribe it,
// and the allocator kept from churning pages: the run-time settings that
// decide training speed, set by distgru itself rather than left to the user.

namespace distgru::train {

// requested > 0 is taken as is; 0 means the cores this rank is bound to when a
// launcher bound it, else max(1, cores / ranks_on_this_host).
// Sets LibTorch's intra-op pool, one inter-op thread, and OpenBLAS's own pool
// (which ignores torch::set_num_threads) when OpenBLAS is the BLAS in use.
// Also calls configure_allocator(), so every executable that sizes its pools
// gets the allocator settings too. Returns the thread count chosen.
int configure_threads(int requested, int local_ranks);

// Keeps glibc's malloc from handing the large per-step buffers (GRU gates and
// gradients, tens of MB each) back to the kernel and faulting them in again on
// the next step: large blocks come from the heap instead of fresh mmaps, and
// the heap is not trimmed. Measured at 20-26% of a training step otherwise.
// Idempotent; a no-op when the user set GLIBC_TUNABLES (theirs wins).
void configure_allocator();

// Cores this process may run on (sched_getaffinity), at least 1.
int available_cores();

}  // namespace distgru::train
