#include "distributed/gradient_sync.h"

#include <chrono>
#include <condition_variable>
#include <cstring>
#include <deque>
#include <exception>
#include <mutex>
#include <thread>

#include "common/error.h"

namespace distgru::dist {

struct GradientSync::Overlap {
  Overlap(Communicator& c, const BucketPlan& p, std::vector<torch::Tensor> v, std::vector<torch::Tensor> bv)
      : comm(c), plan(p), views(std::move(v)), bucket_views(std::move(bv)) {}

  // Called by autograd with parameter i's gradient for this backward.
  void on_grad(size_t i, const torch::Tensor& grad) {
    {
      std::lock_guard<std::mutex> lock(mu);
      if (!armed) return;  // a backward outside begin/allreduce: plain accumulation
      if (seen[i]) {
        if (!error) {
          error = std::make_exception_ptr(Error("GradientSync: parameter " + std::to_string(i) +
                                                " received two gradients in one backward"));
        }
        return;
      }
    }
    {
      torch::NoGradGuard no_grad;
      views[i].copy_(grad);
    }
    std::lock_guard<std::mutex> lock(mu);
    seen[i] = 1;
    --pending[plan.bucket_of[i]];
    launch_ready_locked();
  }

  // Hands over, in plan order, every bucket whose gradients are all in.
  void launch_ready_locked() {
    bool any = false;
    while (next_launch < plan.buckets.size() && pending[next_launch] == 0) {
      queue.push_back(next_launch++);
      any = true;
    }
    if (any) cv.notify_all();
  }

  // The communication thread.
  void run() {
    for (;;) {
      size_t b = 0;
      bool skip = false;
      {
        std::unique_lock<std::mutex> lock(mu);
        cv.wait(lock, [&] { return stop || !queue.empty(); });
        if (queue.empty()) return;
        b = queue.front();
        queue.pop_front();
        skip = static_cast<bool>(error);
      }
      try {
        if (!skip) {
          auto bucket = bucket_views[b];  // shares the storage
          comm.allreduce(bucket, ReduceOp::kSum);
        }
      } catch (...) {
        std::lock_guard<std::mutex> lock(mu);
        if (!error) error = std::current_exception();
      }
      {
        std::lock_guard<std::mutex> lock(mu);
        ++done;
      }
      cv.notify_all();
    }
  }

  Communicator& comm;
  const BucketPlan plan;
  const std::vector<torch::Tensor> views, bucket_views;

  std::mutex mu;
  std::condition_variable cv;
  bool armed = false;
  bool stop = false;
  std::vector<char> seen;        // per parameter: its gradient is in the buffer
  std::vector<int64_t> pending;  // per bucket: parameters still to come
  size_t next_launch = 0;        // buckets [0, next_launch) were handed over
  size_t done = 0;               // buckets reduced (or skipped after an error)
  std::deque<size_t> queue;
  std::exception_ptr error;
  std::thread worker;
};

GradientSync::GradientSync(Communicator& comm, std::vector<torch::Tensor> params, GradientSyncOptions options)
    : comm_(comm), options_(options), params_(std::move(params)) {
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
  DISTGRU_CHECK(!options_.overlap || comm.serialized_threads_ok(),
                "GradientSync: the " + comm.backend() +
                    " communicator cannot be driven from a communication thread; overlap is off for it");
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

  if (options_.overlap) {
    overlap_ = std::make_shared<Overlap>(comm_, plan_, views_, bucket_views_);
    overlap_->worker = std::thread([state = overlap_] { state->run(); });
    for (size_t i = 0; i < params_.size(); ++i) {
      hook_handles_.push_back(
          params_[i].register_hook([state = overlap_, i](torch::Tensor grad) { state->on_grad(i, grad); }));
    }
  }
}

GradientSync::~GradientSync() {
  if (!overlap_) return;
  for (size_t i = 0; i < hook_handles_.size(); ++i) params_[i].remove_hook(hook_handles_[i]);
  bool idle = false;
  {
    std::lock_guard<std::mutex> lock(overlap_->mu);
    overlap_->stop = true;
    idle = overlap_->done == overlap_->next_launch;
  }
  overlap_->cv.notify_all();
  // A bucket still in flight means this rank is unwinding from an error in
  // the middle of a step, and its peers may never join that collective:
  // joining could hang, so the thread is left to the job's abort.
  if (idle) {
    overlap_->worker.join();
  } else {
    overlap_->worker.detach();
  }
}

void GradientSync::begin_backward() {
  torch::NoGradGuard no_grad;
  if (!overlap_) {
    flat_.zero_();
    for (size_t i = 0; i < params_.size(); ++i) params_[i].mutable_grad() = views_[i];
    return;
  }
  {
    std::lock_guard<std::mutex> lock(overlap_->mu);
    DISTGRU_CHECK(overlap_->done == overlap_->next_launch,
                  "GradientSync: begin_backward() while buckets are still being reduced");
    overlap_->armed = true;
    overlap_->seen.assign(params_.size(), 0);
    overlap_->pending.clear();
    for (const auto& bucket : plan_.buckets) overlap_->pending.push_back(static_cast<int64_t>(bucket.params.size()));
    overlap_->next_launch = 0;
    overlap_->done = 0;
    overlap_->error = nullptr;
  }
  // Autograd then stores each new gradient as it is (no accumulation into a
  // stale one); the hook has already copied it into the buffer.
  for (auto& p : params_) p.mutable_grad() = torch::Tensor();
}

void GradientSync::allreduce_gradients() {
  const auto start = std::chrono::steady_clock::now();
  bool armed = false;
  if (overlap_) {
    std::lock_guard<std::mutex> lock(overlap_->mu);
    armed = overlap_->armed;
  }
  if (!armed) {
    reduce_in_place();
  } else {
    torch::NoGradGuard no_grad;
    std::exception_ptr error;
    {
      std::unique_lock<std::mutex> lock(overlap_->mu);
      // Parameters autograd did not reach contribute zeros, as in the fused path.
      for (size_t i = 0; i < params_.size(); ++i) {
        if (overlap_->seen[i]) continue;
        views_[i].zero_();
        overlap_->seen[i] = 1;
        --overlap_->pending[plan_.bucket_of[i]];
      }
      overlap_->launch_ready_locked();
      overlap_->cv.wait(lock, [&] { return overlap_->done == plan_.buckets.size(); });
      overlap_->armed = false;
      error = overlap_->error;
      overlap_->error = nullptr;
    }
    if (error) std::rethrow_exception(error);
    for (size_t i = 0; i < params_.size(); ++i) params_[i].mutable_grad() = views_[i];
  }
  last_seconds_ =
      std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
}

void GradientSync::reduce_in_place() {
  torch::NoGradGuard no_grad;
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
  for (auto& bucket : bucket_views_) comm_.allreduce(bucket, ReduceOp::kSum);
}

torch::Tensor flatten_tensors(const std::vector<torch::Tensor>& tensors) {
  DISTGRU_CHECK(!tensors.empty(), "flatten_tensors: nothing to flatten");
  int64_t total = 0;
  for (const auto& t : tensors) total += t.numel();
  auto flat = torch::empty({total}, tensors.front().options());
  int64_t off = 0;
  torch::NoGradGuard no_grad;
  for (const auto& t : tensors) {
    flat.narrow(0, off, t.numel()).copy_(t.reshape({-1}));
    off += t.numel();
  }
  return flat;
}

void broadcast_tensors(Communicator& comm, const std::vector<torch::Tensor>& tensors, int root) {
  if (tensors.empty()) return;
  auto flat = flatten_tensors(tensors);
  comm.broadcast(flat, root);
  torch::NoGradGuard no_grad;
  int64_t off = 0;
  for (const auto& t : tensors) {
    auto target = t;  // shares storage: copying into it updates the parameter
    target.copy_(flat.narrow(0, off, t.numel()).view(t.sizes()));
    off += t.numel();
  }
}

std::string broadcast_string(Communicator& comm, const std::string& text, int root) {
  const bool is_root = comm.rank() == root;
  auto length = torch::tensor({static_cast<int64_t>(is_root ? text.size() : 0)}, torch::kLong)
                    .to(comm.device());
  comm.broadcast(length, root);
  auto bytes = torch::zeros({length.item<int64_t>()}, torch::kByte);
  if (is_root) std::memcpy(bytes.data_ptr(), text.data(), text.size());
  if (bytes.numel() == 0) return std::string();
  bytes = bytes.to(comm.device());
  comm.broadcast(bytes, root);
  bytes = bytes.to(torch::kCPU);
  return std::string(static_cast<const char*>(bytes.data_ptr()), static_cast<size_t>(bytes.numel()));
}

bool tensors_identical_across_ranks(Communicator& comm, const std::vector<torch::Tensor>& tensors) {
  auto mine = flatten_tensors(tensors);
  auto roots = mine.clone();
  comm.broadcast(roots, 0);
  auto differs = torch::tensor({torch::equal(mine, roots) ? 0.0f : 1.0f},
                               torch::TensorOptions().device(comm.device()));
  comm.allreduce(differs, ReduceOp::kMax);
  return differs.item<float>() == 0.0f;
}

}  // namespace distgru::dist
