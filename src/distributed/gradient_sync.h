#pragma once
// What to reduce, separate from how: GradientSync owns one flat (fused) buffer
// for all gradients, as Horovod's fusion buffer and DDP's buckets, set up once
// at construction. The buffer is cut into buckets (distributed/bucket_plan.h);
// each step reduces every bucket once, in plan order, on every rank. The
// communicator never sees the model.
//
// Zero copy: at construction every parameter's .grad() becomes a view into the
// flat buffer (DDP's gradient_as_bucket_view), so backward accumulates straight
// into it and the sums land in the gradients without copying 8.7 MB in and out
// (which cost 4x the allreduce itself). A gradient that was replaced by a
// tensor of its own (set to none, or rebound by other code) is copied in and
// rebound to its view, so the result is the same either way.
//
// Overlap (options.overlap): a hook on each parameter copies its gradient
// into the bucket as soon as autograd has it, and a bucket whose gradients are
// all in is started as an asynchronous allreduce (communicator.h) while
// backward goes on with the layers below. Buckets are started strictly in
// plan order, so every rank issues the same collectives in the same order
// whatever order its hooks fire in. The sums are the same as the single fused
// allreduce's: each element is reduced once, across the same ranks.
//
// Sparse rows (options.sparse_rows): an embedding's gradient is nonzero only
// on the rows of the words a step's batch holds (a few thousand of its 20,000
// rows: 8 of the 8.7 MB a step would allreduce). That parameter stays out of
// the buffer; after backward every rank contributes the ids of the rows its
// batch touched and those rows, all ranks gather them (allgather, PyTorch's
// sparse embedding gradients and TensorFlow's IndexedSlices under Horovod)
// and add them up in rank order into a zeroed gradient. Rows no rank touched
// are zero in both paths, so the update is the dense allreduce's up to the
// order of the float additions; every rank adds in the same order, so the
// replicas stay identical.
//
// Compressed wire (options.wire_dtype = bfloat16): each dense bucket is
// rounded to bfloat16 into a buffer of its own, allreduced in bfloat16 (half
// the bytes) and widened back into the float gradients, as DDP's
// bf16_compress_hook and Horovod's Compression.fp16. bfloat16 keeps float's
// range, so nothing overflows; it keeps 8 significant bits, so each gradient
// element (and each partial sum of the reduction) carries a relative rounding
// error of at most 2^-8. Every rank widens the same bfloat16 sums, so the
// replicas stay identical. The sparse rows keep the parameters' dtype.
//
// Summing (not averaging) is deliberate: the trainer scales each rank's loss by
// 1/global_batch, so the sum over ranks is exactly the gradient of the mean
// loss over the global batch, whatever the split of samples across ranks.

#include <torch/torch.h>

#include <memory>
#include <vector>

#include "distributed/bucket_plan.h"
#include "distributed/communicator.h"

namespace distgru::dist {

struct GradientSyncOptions {
  int64_t bucket_bytes = 0;  // <= 0: one bucket (a single fused allreduce)
  bool overlap = false;      // start each bucket's allreduce from backward's hooks
  // Index in `params` of a 2-D parameter (an embedding, [rows x dim]) whose
  // gradient is synced as the rows each rank touched (see above); -1: none.
  int64_t sparse_rows = -1;
  // The dtype the dense buckets travel in: Undefined (the parameters' own) or
  // torch::kBFloat16 (see "Compressed wire" above).
  torch::ScalarType wire_dtype = torch::ScalarType::Undefined;
};

// What the last allreduce_gradients() moved, per rank: the dense buckets'
// elements and, with sparse rows, the rows (and ids) this rank sent.
struct SyncVolume {
  int64_t dense_bytes = 0;   // every bucket, once, in the wire dtype (what an allreduce reduces)
  int64_t sparse_rows = 0;   // rows this rank contributed (its touched rows)
  int64_t sparse_bytes = 0;  // those rows and their ids as sent (padded to the largest rank's count)
};

class GradientSync {
 public:
  // `params` must all have the same dtype and live on comm.device(). Rebinds
  // each parameter's .grad() to its view of the flat buffer (keeping any
  // values it had).
  GradientSync(Communicator& comm, std::vector<torch::Tensor> params, GradientSyncOptions options = {});
  // Removes the hooks. Buckets still in flight (a step unwinding from an
  // error) are left to their Work handles, which keep the buffer alive.
  ~GradientSync();
  GradientSync(const GradientSync&) = delete;
  GradientSync& operator=(const GradientSync&) = delete;

  // Before backward, in place of zeroing the gradients: with overlap, arms the
  // hooks and clears the gradients; without, zeroes them in the buffer.
  void begin_backward();

  // Two backwards whose gradients add up before one sync (a step that also
  // trains on perturbed inputs; DDP's no_sync() then a synced backward):
  // begin_local_backward() in place of begin_backward() zeroes the buffer and
  // lets the next backward accumulate into it without starting any bucket;
  // continue_backward() then arms the hooks (with overlap) so the next
  // backward adds its gradients to those and starts each bucket as it fills.
  // allreduce_gradients() follows as after one backward. Any number of local
  // backwards may come before continue_backward(); without it, the sync
  // after the local ones is the non-overlapped one.
  void begin_local_backward();
  void continue_backward();

  // collective: after backward, sums every parameter's .grad() across ranks,
  // in place. A parameter without a gradient on this rank contributes zeros
  // and receives the sum (so replicas stay identical). Starts the buckets not
  // started yet and waits for all of them with comm.timeout(); throws
  // distgru::Error naming the bucket's collective when the wait runs out.
  // With sparse rows, `touched_rows` holds the row ids (int64, 1-D, unique)
  // this rank's batch touched; the sparse parameter's gradient must be zero
  // elsewhere (an embedding's is). Ignored without sparse rows.
  void allreduce_gradients(const torch::Tensor& touched_rows = {});

  int64_t numel() const { return plan_.numel; }
  const SyncVolume& last_volume() const { return last_volume_; }
  bool sparse() const { return sparse_ >= 0; }
  int64_t bytes() const { return plan_.numel * plan_.element_size; }
  const BucketPlan& plan() const { return plan_; }
  bool overlapping() const { return options_.overlap; }
  // The dtype the dense buckets travel in (the parameters' own unless compressed).
  torch::ScalarType wire_dtype() const { return wire_.defined() ? wire_.scalar_type() : flat_.scalar_type(); }
  // Seconds the caller spent in the last allreduce_gradients(): with overlap,
  // only the communication backward did not hide.
  double last_seconds() const { return last_seconds_; }
  // When each bucket's allreduce ran in the last allreduce_gradients(), in
  // plan order (for step timelines; empty where the backend cannot tell).
  const std::vector<Work::Span>& last_bucket_spans() const { return last_bucket_spans_; }

 private:
  struct Hooks;  // state shared with the gradient hooks

  void copy_stray_gradients_in();  // the non-overlapped path
  void arm_locked(bool accumulate);  // hooks_->mu held
  void sync_sparse_rows(const torch::Tensor& touched_rows, std::vector<WorkHandle>& dense_in_flight);

  Communicator& comm_;
  // Constant after construction.
  GradientSyncOptions options_;
  std::vector<torch::Tensor> params_;   // in the flat buffer (the sparse one excluded)
  int64_t sparse_ = -1;                  // options_.sparse_rows
  torch::Tensor sparse_param_;           // the parameter synced as rows (undefined without)
  BucketPlan plan_;
  torch::Tensor flat_;
  std::vector<torch::Tensor> views_;         // views_[i]: params_[i]'s slice of flat_ (shared storage)
  std::vector<torch::Tensor> bucket_views_;  // bucket_views_[b]: bucket b's slice of flat_
  torch::Tensor wire_;                       // compressed wire only: flat_ in the wire dtype
  std::vector<torch::Tensor> wire_views_;    // wire_views_[b]: bucket b's slice of wire_ (empty without)
  std::shared_ptr<Hooks> hooks_;             // set when options_.overlap
  std::vector<unsigned> hook_handles_;
  // Updated every step.
  double last_seconds_ = 0.0;
  SyncVolume last_volume_;
  std::vector<Work::Span> last_bucket_spans_;
};

}  // namespace distgru::dist
