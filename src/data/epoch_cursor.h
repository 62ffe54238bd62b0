#pragma once
// Where the next batch comes from: a rank's position in the epoch plans of
// data/epoch_plan.h, what a checkpoint must record of it, and how a run that
// resumes on another world size or with another global batch continues.
//
// Every rank holds a cursor over the same training range [0, n) and moves it
// in step with the others; each step it takes its own share of the global
// batch. The position is the same on every rank, so rank 0's checkpoint of
// it serves them all.

#include <cstdint>
#include <vector>

#include "data/epoch_plan.h"

namespace distgru::data {

// What a checkpoint records: enough to replay the epoch so far.
struct EpochPosition {
  int64_t epoch = 0;          // epoch of the next step (0-based)
  int64_t step_in_epoch = 0;  // global steps already taken in it, over all its segments
  int world_size = 1;         // of the segment under way
  int64_t global_batch = 0;   // of the segment under way
  std::vector<Segment> earlier;  // finished segments of this epoch (other world sizes or batches)
};

class EpochCursor {
 public:
  // Epoch 0, step 0, for `rank` of `world_size` taking `global_batch` samples
  // a step from [0, n). Throws distgru::Error when a rank's block cannot
  // fill one batch.
  EpochCursor(int64_t n, int64_t global_batch, uint64_t seed, int rank, int world_size);

  // Continues from `saved`. When it was written with another world size or
  // global batch, its segment is closed where it stopped and a new one
  // starts: the rest of the epoch visits only samples not yet seen in it, in
  // a new order (an epoch with too little left for a batch ends at once).
  // Returns true when that happened, so the caller can say so.
  bool resume(const EpochPosition& saved);

  // What a checkpoint must record.
  const EpochPosition& position() const { return position_; }
  int64_t epoch() const { return position_.epoch; }
  // True before the first step of an epoch, so right after one ended.
  bool at_epoch_start() const { return position_.step_in_epoch == 0; }
  // Steps of a whole epoch begun with this world size and batch.
  int64_t steps_per_epoch() const { return steps_per_epoch_; }
  // Steps left in the epoch under way, this one included (after a resume
  // with another world size or batch, fewer than a whole epoch's).
  int64_t steps_left_in_epoch() const { return segment_offset_ + plan_.steps - position_.step_in_epoch; }

  // This rank's samples for the next step (indices into [0, n), inside this
  // rank's block_of(n, rank, world_size)), in visiting order.
  std::vector<int64_t> next_batch() const;

  // Moves past the step next_batch() described; returns true when that step
  // ended the epoch (the cursor is then at the start of the next one).
  bool advance();

 private:
  // Plans the rest of position_.epoch, moving on to the next epoch while the
  // current one has no full step left.
  void plan();

  // Constant after construction.
  int64_t n_;
  int64_t global_batch_;
  uint64_t seed_;
  int rank_;
  int world_size_;
  int64_t steps_per_epoch_;
  // Moved by advance() and resume().
  EpochPosition position_;
  SegmentPlan plan_;           // this rank's plan of the segment under way
  int64_t segment_offset_ = 0;  // steps of the epoch taken before that segment
};

}  // namespace distgru::data
