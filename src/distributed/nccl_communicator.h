#pragma once
// Communicator over NCCL for CUDA tensors. Bootstrapped through MPI: rank 0
// creates the NCCL unique id and broadcasts it. Each rank uses the GPU given by
// its local rank. Collectives run on a private stream ordered after the legacy
// default stream (where LibTorch's kernels run unless told otherwise); each
// returns a Work whose wait() polls the collective's completion event and
// ncclCommGetAsyncError against the deadline, so a peer that never arrives
// aborts the communicator and throws instead of hanging the job.

#include <chrono>
#include <memory>

#include "distributed/communicator.h"
#include "distributed/mpi_communicator.h"

namespace distgru::dist {

class NcclCommunicator final : public Communicator {
 public:
  // collective: every rank constructs it.
  // A collective still running after `stall_warning` is reported once (NCCL
  // cannot tell which ranks are late).
  NcclCommunicator(std::unique_ptr<MpiCommunicator> bootstrap, std::chrono::milliseconds timeout,
                   std::chrono::milliseconds stall_warning = kDefaultStallWarning);
  ~NcclCommunicator() override;

  int rank() const override { return bootstrap_->rank(); }
  int size() const override { return bootstrap_->size(); }
  int local_rank() const override { return bootstrap_->local_rank(); }
  int local_size() const override { return bootstrap_->local_size(); }
  std::string backend() const override { return "nccl"; }
  torch::Device device() const override;

  // Each makes this rank's GPU current in the calling thread first (autograd
  // runs gradient hooks on a thread of its own), queues the collective on
  // the private stream after the kernels already queued on the default one,
  // and returns at once.
  WorkHandle allreduce_async(torch::Tensor tensor, ReduceOp op) override;
  WorkHandle broadcast_async(torch::Tensor tensor, int root) override;
  WorkHandle allgather_async(torch::Tensor input, torch::Tensor output) override;
  WorkHandle barrier_async() override;

  struct State;  // the NCCL communicator, stream and device, shared with Work handles

 private:
  // Checks the tensor is a contiguous CUDA tensor on this rank's GPU.
  void check(const torch::Tensor& tensor, const char* op) const;
  // Runs `launch` (which queues one NCCL call on the private stream) after
  // the default stream's work, and returns a Work for it.
  template <typename Launch>
  WorkHandle start(std::string what, std::vector<torch::Tensor> keep_alive, Launch launch);

  // Constant after construction.
  std::unique_ptr<MpiCommunicator> bootstrap_;
  std::shared_ptr<State> state_;
  int64_t started_ = 0;  // guarded by state_->mu
};

}  // namespace distgru::dist
