#include "data/epoch_cursor.h"

#include <string>

#include "common/error.h"
#include "data/sampler.h"

namespace distgru::data {

EpochCursor::EpochCursor(int64_t n, int64_t global_batch, uint64_t seed, int rank, int world_size)
    : n_(n),
      global_batch_(global_batch),
      seed_(seed),
      rank_(rank),
      world_size_(world_size),
      steps_per_epoch_(data::steps_per_epoch(n, global_batch, world_size)) {
  position_.world_size = world_size;
  position_.global_batch = global_batch;
  plan();
}

bool EpochCursor::resume(const EpochPosition& saved) {
  DISTGRU_CHECK(saved.epoch >= 0 && saved.step_in_epoch >= 0 && saved.world_size > 0 && saved.global_batch > 0,
                "resume: the checkpoint's epoch position is invalid");
  position_ = saved;
  const bool changed = saved.world_size != world_size_ || saved.global_batch != global_batch_;
  if (changed) {
    int64_t before = 0;
    for (const auto& segment : position_.earlier) before += segment.steps;
    if (position_.step_in_epoch > before) {
      position_.earlier.push_back(
          {position_.world_size, position_.global_batch, position_.step_in_epoch - before});
    }
    position_.world_size = world_size_;
    position_.global_batch = global_batch_;
  }
  plan();
  return changed;
}

void EpochCursor::plan() {
  for (;;) {
    plan_ = plan_segment(n_, global_batch_, seed_, position_.epoch, position_.earlier, rank_, world_size_);
    segment_offset_ = 0;
    for (const auto& segment : position_.earlier) segment_offset_ += segment.steps;
    if (position_.step_in_epoch - segment_offset_ < plan_.steps) return;
    // Nothing left in this epoch for a full batch (after a resume with
    // another world size or batch): start the next one.
    ++position_.epoch;
    position_.step_in_epoch = 0;
    position_.earlier.clear();
  }
}

std::vector<int64_t> EpochCursor::next_batch() const {
  const int64_t pos = position_.step_in_epoch - segment_offset_;
  const auto first = plan_.order.begin() + pos * plan_.local_batch;
  return std::vector<int64_t>(first, first + plan_.local_batch);
}

bool EpochCursor::advance() {
  ++position_.step_in_epoch;
  if (position_.step_in_epoch - segment_offset_ < plan_.steps) return false;
  ++position_.epoch;
  position_.step_in_epoch = 0;
  position_.earlier.clear();
  plan();
  return true;
}

}  // namespace distgru::data
