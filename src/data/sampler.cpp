#include "data/sampler.h"

#include <algorithm>
#include <random>
#include <string>

#include "common/error.h"

namespace distgru::data {
namespace {
uint64_t splitmix64(uint64_t x) {
  x += 0x9e3779b97f4a7c15ULL;
  x = (x ^ (x >> 30)) * 0xbf58476d1ce4e5b9ULL;
  x = (x ^ (x >> 27)) * 0x94d049bb133111ebULL;
  return x ^ (x >> 31);
}
}  // namespace

Range block_of(int64_t n, int rank, int world_size) {
  DISTGRU_CHECK(world_size > 0 && rank >= 0 && rank < world_size && n >= 0,
                "block_of: bad rank/world size");
  const int64_t base = n / world_size;
  const int64_t extra = n % world_size;
  const int64_t begin = rank * base + std::min<int64_t>(rank, extra);
  return {begin, begin + base + (rank < extra ? 1 : 0)};
}

int64_t local_batch(int64_t global_batch, int rank, int world_size) {
  return block_of(global_batch, rank, world_size).size();
}

int64_t steps_per_epoch(int64_t n, int64_t global_batch, int world_size) {
  DISTGRU_CHECK(global_batch >= world_size,
                "global batch " + std::to_string(global_batch) + " is smaller than the " +
                    std::to_string(world_size) + " ranks: every rank needs at least one sample");
  int64_t steps = INT64_MAX;
  for (int r = 0; r < world_size; ++r) {
    steps = std::min(steps, block_of(n, r, world_size).size() / local_batch(global_batch, r, world_size));
  }
  DISTGRU_CHECK(steps > 0, std::to_string(n) + " training samples cannot fill one global batch of " +
                               std::to_string(global_batch) + " across " +
                               std::to_string(world_size) + " ranks");
  return steps;
}

uint64_t mix_seed(uint64_t seed, uint64_t a, uint64_t b) {
  return splitmix64(splitmix64(splitmix64(seed) ^ a) ^ b);
}

std::vector<int64_t> epoch_permutation(int64_t n, uint64_t seed, int64_t epoch, uint64_t stream) {
  std::vector<int64_t> order(static_cast<size_t>(n));
  for (int64_t i = 0; i < n; ++i) order[i] = i;
  std::mt19937_64 rng(mix_seed(seed, static_cast<uint64_t>(epoch), stream));
  for (int64_t i = n - 1; i > 0; --i) {
    // rng() % (i+1) has negligible bias for n << 2^64 and, unlike
    // std::uniform_int_distribution, the same result on every standard library.
    const int64_t j = static_cast<int64_t>(rng() % static_cast<uint64_t>(i + 1));
    std::swap(order[i], order[j]);
  }
  return order;
}

}  // namespace distgru::data
