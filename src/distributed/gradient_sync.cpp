#include "distributed/gradient_sync.h"

#include <chrono>
#include <mutex>

#include "common/error.h"

namespace distgru::dist {
namespace {

// One in-flight bucket. With a compressed wire, the bucket is rounded into
// its wire buffer before the allreduce and widened back once it is done.
class BucketWork final : public Work {
 public:
  BucketWork(WorkHandle inner, torch::Tensor wire, torch::Tensor bucket)
      : inner_(std::move(inner)), wire_(std::move(wire)), bucket_(std::move(bucket)) {}
  void wait(std::chrono::milliseconds timeout) override {
    inner_->wait(timeout);
    if (!widened_) {
      torch::NoGradGuard no_grad;
      bucket_.copy_(wire_);
      widened_ = true;
    }
  }
  bool completed() override { return inner_->completed(); }
  const std::string& what() const override { return inner_->what(); }
  std::optional<Span> span() const override { return inner_->span(); }

 private:
  WorkHandle inner_;
  torch::Tensor wire_, bucket_;
  bool widened_ = false;
};

// Starts bucket `b`'s allreduce (sum), through its wire buffer when it has one.
WorkHandle start_bucket(Communicator& comm, size_t b, const std::vector<torch::Tensor>& bucket_views,
                        const std::vector<torch::Tensor>& wire_views) {
  if (wire_views.empty()) return comm.allreduce_async(bucket_views[b], ReduceOp::kSum);
  torch::NoGradGuard no_grad;
  wire_views[b].copy_(bucket_views[b]);  // rounds to the nearest wire value
  return std::make_shared<BucketWork>(comm.allreduce_async(wire_views[b], ReduceOp::kSum), wire_views[b],
                                      bucket_views[b]);
}

}  // namespace

struct GradientSync::Hooks {
  Hooks(Communicator& c, const BucketPlan& p, std::vector<torch::Tensor> v, std::vector<torch::Tensor> bv,
        std::vector<torch::Tensor> wv)
      : comm(c), plan(p), views(std::move(v)), bucket_views(std::move(bv)), wire_views(std::move(wv)) {}

  // Called by autograd with parameter i's gradient for this backward.
  void on_grad(size_t i, const torch::Tensor& grad) {
    std::lock_guard<std::mutex> lock(mu);
    if (!armed) return;  // a backward outside begin/allreduce: plain accumulation
    DISTGRU_CHECK(!seen[i], "GradientSync: parameter " + std::to_string(i) +
                                " received two gradients in one backward");
    {
      torch::NoGradGuard no_grad;
      if (accumulate) {
        views[i].add_(grad);
      } else {
        views[i].copy_(grad);
      }
    }
    seen[i] = 1;
    --pending[plan.bucket_of[i]];
    start_ready_locked();
  }

  // Starts, in plan order, every bucket whose gradients are all in.
  void start_ready_locked() {
    while (next_start < plan.buckets.size() && pending[next_start] == 0) {
      in_flight.push_back(start_bucket(comm, next_start++, bucket_views, wire_views));
    }
  }

  Communicator& comm;
  const BucketPlan plan;
  const std::vector<torch::Tensor> views, bucket_views, wire_views;

  std::mutex mu;  // hooks may run on autograd's threads
  // Guarded by mu; reset by begin_backward().
  bool armed = false;
  bool accumulate = false;       // add to the buffer (after a local backward) instead of overwriting it
  std::vector<char> seen;        // per parameter: its gradient is in the buffer
  std::vector<int64_t> pending;  // per bucket: parameters still to come
  size_t next_start = 0;         // buckets [0, next_start) were started
  std::vector<WorkHandle> in_flight;
};

GradientSync::GradientSync(Communicator& comm, std::vector<torch::Tensor> params, GradientSyncOptions options)
    : comm_(comm), options_(options), params_(std::move(params)), sparse_(options.sparse_rows) {
  if (sparse_ >= 0) {
    DISTGRU_CHECK(sparse_ < static_cast<int64_t>(params_.size()),
                  "GradientSync: sparse_rows " + std::to_string(sparse_) + " is not a parameter's index");
    sparse_param_ = params_[sparse_];
    DISTGRU_CHECK(sparse_param_.dim() == 2, "GradientSync: the sparse-rows parameter must be 2-D (an embedding)");
    DISTGRU_CHECK(sparse_param_.device() == comm.device(),
                  "GradientSync: parameter on " + sparse_param_.device().str() + " but the " + comm.backend() +
                      " communicator works on " + comm.device().str());
    params_.erase(params_.begin() + sparse_);
  }
  DISTGRU_CHECK(!params_.empty(), "GradientSync: no parameters");
  std::vector<int64_t> numels;
  for (const auto& p : params_) {
    DISTGRU_CHECK(p.scalar_type() == params_.front().scalar_type(),
                  "GradientSync: parameters must share one dtype");
    DISTGRU_CHECK(p.device() == comm.device(),
                  "GradientSync: parameter on " + p.device().str() + " but the " + comm.backend() +
                      " communicator works on " + comm.device().str());
    numels.push_back(p.numel());
  }
  plan_ = plan_buckets(numels, static_cast<int64_t>(params_.front().element_size()), options_.bucket_bytes);
  flat_ = torch::zeros({plan_.numel}, params_.front().options());
  torch::NoGradGuard no_grad;
  for (size_t i = 0; i < params_.size(); ++i) {
    // Shares flat_'s storage (and keeps it alive) without being an autograd
    // view: Optimizer::zero_grad() calls detach_(), which views refuse.
    auto view = torch::empty({0}, flat_.options());
    view.set_(flat_.storage(), plan_.offset_of[i], params_[i].sizes());
    views_.push_back(view);
    auto& grad = params_[i].mutable_grad();
    if (grad.defined()) views_[i].copy_(grad);
    grad = views_[i];
  }
  for (const auto& bucket : plan_.buckets) bucket_views_.push_back(flat_.narrow(0, bucket.offset, bucket.numel));
  const auto wire = options_.wire_dtype;
  if (wire != torch::ScalarType::Undefined && wire != flat_.scalar_type()) {
    DISTGRU_CHECK(wire == torch::kBFloat16 && flat_.scalar_type() == torch::kFloat,
                  std::string("GradientSync: a ") + c10::toString(wire) + " wire for " +
                      c10::toString(flat_.scalar_type()) + " gradients is not offered (only float over bfloat16)");
    wire_ = torch::zeros({plan_.numel}, flat_.options().dtype(wire));
    for (const auto& bucket : plan_.buckets) wire_views_.push_back(wire_.narrow(0, bucket.offset, bucket.numel));
  }

  if (options_.overlap) {
    hooks_ = std::make_shared<Hooks>(comm_, plan_, views_, bucket_views_, wire_views_);
    for (size_t i = 0; i < params_.size(); ++i) {
      hook_handles_.push_back(
          params_[i].register_hook([hooks = hooks_, i](torch::Tensor grad) { hooks->on_grad(i, grad); }));
    }
  }
}

GradientSync::~GradientSync() {
  for (size_t i = 0; i < hook_handles_.size(); ++i) params_[i].remove_hook(hook_handles_[i]);
}

void GradientSync::begin_backward() {
  torch::NoGradGuard no_grad;
  // Autograd then stores this step's gradient as it is (zeros where unused).
  if (sparse_param_.defined()) sparse_param_.mutable_grad() = torch::Tensor();
  if (!hooks_) {
    flat_.zero_();
    for (size_t i = 0; i < params_.size(); ++i) params_[i].mutable_grad() = views_[i];
    return;
  }
  {
    std::lock_guard<std::mutex> lock(hooks_->mu);
    DISTGRU_CHECK(hooks_->in_flight.empty(),
                  "GradientSync: begin_backward() while buckets of the last step are in flight");
    arm_locked(/*accumulate=*/false);
  }
  // Autograd then stores each new gradient as it is (no accumulation into a
  // stale one); the hook has already copied it into the buffer.
  for (auto& p : params_) p.mutable_grad() = torch::Tensor();
}

void GradientSync::begin_local_backward() {
  torch::NoGradGuard no_grad;
  if (sparse_param_.defined()) sparse_param_.mutable_grad() = torch::Tensor();
  if (hooks_) {
    std::lock_guard<std::mutex> lock(hooks_->mu);
    DISTGRU_CHECK(hooks_->in_flight.empty(),
                  "GradientSync: begin_local_backward() while buckets of the last step are in flight");
    hooks_->armed = false;  // the hooks let autograd accumulate into the views
  }
  flat_.zero_();
  for (size_t i = 0; i < params_.size(); ++i) params_[i].mutable_grad() = views_[i];
}

void GradientSync::continue_backward() {
  if (!hooks_) return;  // the next backward accumulates into the views as the local one did
  torch::NoGradGuard no_grad;
  {
    std::lock_guard<std::mutex> lock(hooks_->mu);
    DISTGRU_CHECK(!hooks_->armed, "GradientSync: continue_backward() without begin_local_backward()");
    arm_locked(/*accumulate=*/true);
  }
  // A gradient the local backward left outside its view (rebound by other
  // code) is added in first; then autograd stores the next one apart, and the
  // hook adds it to the buffer.
  copy_stray_gradients_in();
  for (auto& p : params_) p.mutable_grad() = torch::Tensor();
}

void GradientSync::arm_locked(bool accumulate) {
  hooks_->armed = true;
  hooks_->accumulate = accumulate;
  hooks_->seen.assign(params_.size(), 0);
  hooks_->pending.clear();
  for (const auto& bucket : plan_.buckets) hooks_->pending.push_back(static_cast<int64_t>(bucket.params.size()));
  hooks_->next_start = 0;
}

void GradientSync::allreduce_gradients(const torch::Tensor& touched_rows) {
  const auto start = std::chrono::steady_clock::now();
  torch::NoGradGuard no_grad;
  std::vector<WorkHandle> in_flight;
  bool armed = false;
  if (hooks_) {
    std::lock_guard<std::mutex> lock(hooks_->mu);
    armed = hooks_->armed;
    if (armed) {
      // Parameters autograd did not reach contribute zeros, as in the fused
      // path (or what a local backward left them).
      for (size_t i = 0; i < params_.size(); ++i) {
        if (hooks_->seen[i]) continue;
        if (!hooks_->accumulate) views_[i].zero_();
        hooks_->seen[i] = 1;
        --hooks_->pending[plan_.bucket_of[i]];
      }
      hooks_->start_ready_locked();
      hooks_->armed = false;
      in_flight.swap(hooks_->in_flight);
    }
  }
  if (!armed) {
    copy_stray_gradients_in();
    for (size_t b = 0; b < bucket_views_.size(); ++b) {
      in_flight.push_back(start_bucket(comm_, b, bucket_views_, wire_views_));
    }
  }
  last_volume_ = SyncVolume{plan_.numel * (wire_.defined() ? wire_.element_size() : plan_.element_size), 0, 0};
  // After every bucket, so all ranks start the same collectives in the same order.
  if (sparse_ >= 0) sync_sparse_rows(touched_rows, in_flight);
  last_bucket_spans_.clear();
  for (auto& work : in_flight) {
    work->wait(comm_.timeout());
    if (auto span = work->span()) last_bucket_spans_.push_back(*span);
  }
  for (size_t i = 0; i < params_.size(); ++i) params_[i].mutable_grad() = views_[i];
  last_seconds_ = std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
}

void GradientSync::sync_sparse_rows(const torch::Tensor& touched_rows, std::vector<WorkHandle>& dense_in_flight) {
  DISTGRU_CHECK(touched_rows.defined() && touched_rows.dim() == 1 && touched_rows.scalar_type() == torch::kLong,
                "GradientSync: sparse rows need this rank's touched row ids (int64, 1-D)");
  auto& grad = sparse_param_.mutable_grad();
  if (!grad.defined()) grad = torch::zeros_like(sparse_param_);  // not reached on this rank: contributes nothing
  const auto device = comm_.device();
  const auto ids = touched_rows.to(device);
  const int64_t world = comm_.size(), dim = sparse_param_.size(1);
  // 1. How many rows each rank brings (the largest sizes the gathers).
  auto count = torch::full({1}, ids.numel(), torch::TensorOptions().dtype(torch::kLong).device(device));
  auto counts = torch::empty({world}, count.options());
  comm_.allgather_async(count, counts)->wait(comm_.timeout());  // behind the buckets in the queue
  const auto counts_cpu = counts.to(torch::kCPU);
  const int64_t widest = counts_cpu.max().item<int64_t>();
  // 2. Ids and rows, padded to the widest rank's count.
  auto my_ids = torch::full({widest}, -1, count.options());
  auto my_rows = torch::zeros({widest, dim}, grad.options());
  if (ids.numel() > 0) {
    my_ids.narrow(0, 0, ids.numel()).copy_(ids);
    my_rows.narrow(0, 0, ids.numel()).copy_(grad.index_select(0, ids));
  }
  auto all_ids = torch::empty({world * widest}, my_ids.options());
  auto all_rows = torch::empty({world * widest, dim}, my_rows.options());
  auto ids_work = comm_.allgather_async(my_ids, all_ids);
  auto rows_work = comm_.allgather_async(my_rows.view({-1}), all_rows.view({-1}));
  ids_work->wait(comm_.timeout());
  rows_work->wait(comm_.timeout());
  // 3. The sum, in rank order on every rank.
  grad.zero_();
  const auto* n = counts_cpu.data_ptr<int64_t>();
  for (int64_t r = 0; r < world; ++r) {
    if (n[r] == 0) continue;
    grad.index_add_(0, all_ids.narrow(0, r * widest, n[r]), all_rows.narrow(0, r * widest, n[r]));
  }
  last_volume_.sparse_rows = ids.numel();
  last_volume_.sparse_bytes = widest * (dim * grad.element_size() + my_ids.element_size());
  (void)dense_in_flight;  // already started; waited for by the caller
}

void GradientSync::copy_stray_gradients_in() {
  for (size_t i = 0; i < params_.size(); ++i) {
    auto& grad = params_[i].mutable_grad();
    // Already in place: backward accumulated into the view.
    if (grad.defined() && grad.data_ptr() == views_[i].data_ptr() &&
        grad.sizes() == views_[i].sizes() && grad.strides() == views_[i].strides()) {
      continue;
    }
    if (grad.defined()) {
      views_[i].copy_(grad);
    } else {
      views_[i].zero_();
    }
    grad = views_[i];
  }
}

}  // namespace distgru::dist
