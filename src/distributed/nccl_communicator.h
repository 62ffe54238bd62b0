#pragma once
// Communicator over NCCL for CUDA tensors. Bootstrapped through MPI: rank 0
// creates the NCCL unique id and broadcasts it. Each rank uses the GPU given by
// its local rank. Collectives run on a private stream ordered after the legacy
// default stream (where LibTorch's kernels run unless told otherwise), and the
// host waits for them with a timeout: a peer that never arrives aborts the
// communicator and throws instead of hanging the job.

#include <chrono>
#include <memory>

#include "distributed/communicator.h"
#include "distributed/mpi_communicator.h"

namespace distgru::dist {

class NcclComm;
class CudaStream;
class CudaEvent;

class NcclCommunicator final : public Communicator {
 public:
  NcclCommunicator(std::unique_ptr<MpiCommunicator> bootstrap, std::chrono::seconds timeout);
  ~NcclCommunicator() override;

  int rank() const override { return bootstrap_->rank(); }
  int size() const override { return bootstrap_->size(); }
  int local_rank() const override { return bootstrap_->local_rank(); }
  int local_size() const override { return bootstrap_->local_size(); }
  std::string backend() const override { return "nccl"; }
  // Yes: every call makes this rank's device current in the calling thread
  // first, so the gradient sync's communication thread can drive it; its
  // collectives run on the private stream while backward's kernels go on on
  // the default stream.
  bool serialized_threads_ok() const override { return true; }
  torch::Device device() const override { return {torch::kCUDA, static_cast<int8_t>(device_)}; }

  void allreduce(torch::Tensor& tensor, ReduceOp op) override;
  void broadcast(torch::Tensor& tensor, int root) override;
  void allgather(const torch::Tensor& input, torch::Tensor& output) override;
  void barrier() override;

 private:
  // Makes device_ current in the calling thread (CUDA's current device is per
  // thread) and checks the tensor is on it.
  void enter(const torch::Tensor& tensor, const char* op) const;
  // Makes the private stream wait for work already queued on the default stream.
  void order_after_default_stream();
  // Blocks until the private stream is idle; aborts the communicator and throws
  // after timeout_ or on an asynchronous NCCL error.
  void wait(const char* op);

  // Constant after construction.
  std::unique_ptr<MpiCommunicator> bootstrap_;
  std::chrono::seconds timeout_;
  int device_ = 0;
  std::unique_ptr<CudaStream> stream_;
  std::unique_ptr<CudaEvent> ready_;
  std::unique_ptr<NcclComm> comm_;
};

}  // namespace distgru::dist
