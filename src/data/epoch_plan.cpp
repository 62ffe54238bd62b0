#include "data/epoch_plan.h"

#include <algorithm>
#include <string>

#include "common/error.h"
#include "data/sampler.h"

namespace distgru::data {
namespace {

// Segment 0 keeps the original stream (the rank) so that runs that never
// change world size keep their order; later segments get fresh streams.
uint64_t stream_of(size_t segment, int rank) {
  return segment == 0 ? static_cast<uint64_t>(rank)
                      : mix_seed(0x5e67e47ULL, segment, static_cast<uint64_t>(rank));
}

std::vector<int64_t> available(const std::vector<char>& taken, Range block) {
  std::vector<int64_t> out;
  out.reserve(static_cast<size_t>(block.size()));
  for (int64_t i = block.begin; i < block.end; ++i) {
    if (!taken[static_cast<size_t>(i)]) out.push_back(i);
  }
  return out;
}

std::vector<int64_t> rank_order(const std::vector<char>& taken, int64_t n, uint64_t seed,
                                int64_t epoch, size_t segment, int rank, int world) {
  auto avail = available(taken, block_of(n, rank, world));
  const auto perm = epoch_permutation(static_cast<int64_t>(avail.size()), seed, epoch,
                                      stream_of(segment, rank));
  std::vector<int64_t> order(avail.size());
  for (size_t i = 0; i < avail.size(); ++i) order[i] = avail[static_cast<size_t>(perm[i])];
  return order;
}

}  // namespace

SegmentPlan plan_segment(int64_t n, int64_t global_batch, uint64_t seed, int64_t epoch,
                         const std::vector<Segment>& earlier, int rank, int world_size) {
  DISTGRU_CHECK(global_batch >= world_size,
                "global batch " + std::to_string(global_batch) + " is smaller than the " +
                    std::to_string(world_size) + " ranks: every rank needs at least one sample");
  std::vector<char> taken(static_cast<size_t>(n), 0);
  for (size_t j = 0; j < earlier.size(); ++j) {
    const int w = earlier[j].world_size;
    DISTGRU_CHECK(w > 0 && earlier[j].steps >= 0 && earlier[j].global_batch >= w,
                  "plan_segment: bad earlier segment");
    std::vector<std::vector<int64_t>> consumed(static_cast<size_t>(w));
    for (int q = 0; q < w; ++q) {
      auto order = rank_order(taken, n, seed, epoch, j, q, w);
      const auto used = std::min<int64_t>(static_cast<int64_t>(order.size()),
                                          earlier[j].steps * local_batch(earlier[j].global_batch, q, w));
      order.resize(static_cast<size_t>(used));
      consumed[static_cast<size_t>(q)] = std::move(order);
    }
    for (const auto& c : consumed) {
      for (int64_t i : c) taken[static_cast<size_t>(i)] = 1;
    }
  }
  const size_t segment = earlier.size();
  SegmentPlan plan;
  plan.local_batch = local_batch(global_batch, rank, world_size);
  plan.steps = INT64_MAX;
  for (int q = 0; q < world_size; ++q) {
    const auto left = static_cast<int64_t>(available(taken, block_of(n, q, world_size)).size());
    plan.steps = std::min(plan.steps, left / local_batch(global_batch, q, world_size));
  }
  plan.order = rank_order(taken, n, seed, epoch, segment, rank, world_size);
  return plan;
}

}  // namespace distgru::data
