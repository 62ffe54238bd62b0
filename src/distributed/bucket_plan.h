#pragma once
// How gradients are grouped for allreduce, as DDP's buckets: a pure function
// of the parameters' sizes, so every rank computes the same plan and it can
// be tested without a model or a communicator.
//
// Backward produces gradients roughly in reverse order of the parameters
// (the output layer first, the embedding last), so buckets are filled in that
// order and the first bucket can be reduced while backward is still running.
// Buckets are laid out back to back in one flat buffer, in plan order, so each
// bucket is one contiguous slice and the whole plan is one fused buffer.

#include <cstddef>
#include <cstdint>
#include <string>
#include <vector>

namespace distgru::dist {

struct Bucket {
  std::vector<size_t> params;  // parameter indices, in the order they are laid out
  int64_t offset = 0;          // first element in the flat buffer
  int64_t numel = 0;
};

struct BucketPlan {
  std::vector<Bucket> buckets;      // in launch order
  std::vector<int64_t> offset_of;   // offset_of[i]: parameter i's first element
  std::vector<size_t> bucket_of;    // bucket_of[i]: the bucket holding parameter i
  int64_t numel = 0;                // the flat buffer's size
  int64_t element_size = 4;         // bytes per element

  std::string describe() const;  // "2 buckets: 0.74 MB (6 tensors), 8.00 MB (1 tensor)"
};

// Parameters in reverse order, a new bucket whenever adding the next one would
// pass `bucket_bytes`; a parameter larger than that gets a bucket of its own.
// bucket_bytes <= 0 puts everything in one bucket.
BucketPlan plan_buckets(const std::vector<int64_t>& numels, int64_t element_size, int64_t bucket_bytes);

}  // namespace distgru::dist
