#include "dist/gradient_sync.h"

#include <chrono>
#include <cstring>

#include "common/error.h"

namespace distgru::dist {

GradientSync::GradientSync(Communicator& comm, std::vector<torch::Tensor> params)
    : comm_(comm), params_(std::move(params)) {
  DISTGRU_CHECK(!params_.empty(), "GradientSync: no parameters");
  int64_t total = 0;
  for (const auto& p : params_) {
    DISTGRU_CHECK(p.scalar_type() == params_.front().scalar_type(),
                  "GradientSync: parameters must share one dtype");
    DISTGRU_CHECK(p.device() == comm.device(),
                  "GradientSync: parameter on " + p.device().str() + " but the " + comm.backend() +
                      " communicator works on " + comm.device().str());
    offsets_.push_back(total);
    total += p.numel();
  }
  flat_ = torch::zeros({total}, params_.front().options());
  torch::NoGradGuard no_grad;
  for (size_t i = 0; i < params_.size(); ++i) {
    // Shares flat_'s storage (and keeps it alive) without being an autograd
    // view: Optimizer::zero_grad() calls detach_(), which views refuse.
    auto view = torch::empty({0}, flat_.options());
    view.set_(flat_.storage(), offsets_[i], params_[i].sizes());
    views_.push_back(view);
    auto& grad = params_[i].mutable_grad();
    if (grad.defined()) views_[i].copy_(grad);
    grad = views_[i];
  }
}

void GradientSync::allreduce_gradients() {
  const auto start = std::chrono::steady_clock::now();
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
  comm_.allreduce(flat_, ReduceOp::kSum);
  last_seconds_ =
      std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
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
