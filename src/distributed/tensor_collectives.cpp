#include "distributed/tensor_collectives.h"

#include <algorithm>
#include <cstring>

#include "common/error.h"

namespace distgru::dist {

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

std::vector<std::string> allgather_strings(Communicator& comm, const std::string& text) {
  const auto lengths = allgather_values(comm, {static_cast<double>(text.size())});
  size_t longest = 0;
  for (double n : lengths) longest = std::max(longest, static_cast<size_t>(n));
  auto mine = torch::zeros({static_cast<int64_t>(longest)}, torch::kByte);
  if (!text.empty()) std::memcpy(mine.data_ptr(), text.data(), text.size());
  auto all = torch::empty({static_cast<int64_t>(longest) * comm.size()}, torch::kByte);
  if (longest > 0) {
    auto on_device = all.to(comm.device());
    comm.allgather(mine.to(comm.device()), on_device);
    all = on_device.to(torch::kCPU);
  }
  std::vector<std::string> out;
  for (size_t r = 0; r < lengths.size(); ++r) {
    out.emplace_back(static_cast<const char*>(all.data_ptr()) + r * longest, static_cast<size_t>(lengths[r]));
  }
  return out;
}

std::vector<double> allgather_values(Communicator& comm, const std::vector<double>& values) {
  const auto n = static_cast<int64_t>(values.size());
  auto mine = torch::tensor(values, torch::kDouble).to(comm.device());
  auto all = torch::empty({n * comm.size()}, mine.options());
  comm.allgather(mine, all);
  all = all.to(torch::kCPU);
  const double* data = all.data_ptr<double>();
  return std::vector<double>(data, data + all.numel());
}

}  // namespace distgru::dist
