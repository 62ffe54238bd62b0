#pragma once
// Thread pools sized so that N ranks on a C-core host never oversubscribe it.

namespace distgru::train {

// requested > 0 is taken as is; 0 means the cores this rank is bound to when a
// launcher bound it, else max(1, cores / ranks_on_this_host).
// Sets LibTorch's intra-op pool, one inter-op thread, and OpenBLAS's own pool
// (which ignores torch::set_num_threads) when OpenBLAS is the BLAS in use.
// Returns the thread count chosen.
int configure_threads(int requested, int local_ranks);

// Cores this process may run on (sched_getaffinity), at least 1.
int available_cores();

}  // namespace distgru::train
