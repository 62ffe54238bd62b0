#pragma once
// How samples are split across ranks and ordered within an epoch. Pure
// functions of their arguments: no I/O, no global state, same answer on every
// rank and every platform.
//
// The training split is a global index range [0, n). Rank r of N owns the
// contiguous block block_of(n, r, N) and reads only that (as HDF5 hyperslabs).
// Each step it takes local_batch(B, r, N) samples, so every step consumes
// exactly the global batch B whatever N is. Every rank runs the same number of
// steps per epoch (steps_per_epoch), so uneven blocks never leave a rank
// waiting in a collective. Within its block a rank visits samples in the
// order epoch_permutation(block size, seed, epoch, rank).

#include <cstdint>
#include <vector>

namespace distgru::data {

struct Range {
  int64_t begin = 0;
  int64_t end = 0;
  int64_t size() const { return end - begin; }
};

// Contiguous blocks whose sizes differ by at most one; the first n % N ranks
// get the larger ones.
Range block_of(int64_t n, int rank, int world_size);

// global_batch / N samples, the first global_batch % N ranks one more.
int64_t local_batch(int64_t global_batch, int rank, int world_size);

// The largest number of full steps every rank can take from its own block.
// Throws distgru::Error when a rank's block cannot fill a single batch.
int64_t steps_per_epoch(int64_t n, int64_t global_batch, int world_size);

// A permutation of [0, n) from a hand-written Fisher-Yates over mt19937_64
// (std::shuffle's algorithm is implementation-defined), seeded from all of
// (seed, epoch, stream) through splitmix64.
std::vector<int64_t> epoch_permutation(int64_t n, uint64_t seed, int64_t epoch, uint64_t stream);

// Mixes several values into one well-spread 64-bit seed.
uint64_t mix_seed(uint64_t seed, uint64_t a, uint64_t b);

}  // namespace distgru::data
