#pragma once
// Which samples each rank visits, in which order, for the rest of an epoch —
// including an epoch that was started on another number of ranks or with
// another global batch.
//
// An epoch is a sequence of segments, each run on one world size with one
// global batch. Segment 0 is the usual case: rank r of N visits its own block
// block_of(n, r, N) in the order epoch_permutation(block, seed, epoch, r).
// When a run resumes on a different world size or batch mid-epoch, the
// segments before it are replayed (pure arithmetic, no I/O) to find the
// samples they consumed; the new segment's ranks then visit only the rest of
// their own new blocks. So every sample is seen at most once per epoch
// whatever happens, and a resume with the same world size and batch continues
// the very same order (bit-exact). data/epoch_cursor.h walks these plans.

#include <cstdint>
#include <vector>

namespace distgru::data {

struct Segment {
  int world_size = 1;
  int64_t global_batch = 0;  // samples per step over all ranks
  int64_t steps = 0;         // global steps taken in it
};

struct SegmentPlan {
  std::vector<int64_t> order;  // global sample indices of this rank, in visiting order
  int64_t local_batch = 0;     // samples of `order` per step
  int64_t steps = 0;           // steps the segment can take; the same on every rank
};

// Plan of segment number earlier.size() for `rank` of `world_size`, taking
// `global_batch` samples a step. Throws distgru::Error when a rank cannot
// hold one sample of the batch.
SegmentPlan plan_segment(int64_t n, int64_t global_batch, uint64_t seed, int64_t epoch,
                         const std::vector<Segment>& earlier, int rank, int world_size);

}  // namespace distgru::data
