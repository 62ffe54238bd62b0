#pragma once
// The one narrow interface for collectives, after c10d's Backend and Gloo's
// Context. Backends (MPI for CPU tensors, NCCL for CUDA tensors) live in their
// own files behind create_communicator() in factory.h. The communicator never
// sees the model: gradient_sync.h decides what to reduce.
//
// Every method marked "collective" must be called by every rank, in the same
// order, with tensors of the same shape and dtype. Each collective comes in
// two forms: `*_async` starts it and returns a Work handle at once (work.h),
// so a caller can overlap it with computation and wait when it needs the
// result; the plain form starts it and waits for it with timeout(). The
// asynchronous calls may come from any thread (gradient hooks run on
// autograd's), one at a time: the order in which they are started is the
// order the ranks must agree on.
//
// Tensors handed to an asynchronous call are kept alive by its Work handle;
// the caller must not read or write them until wait() returns.

#include <torch/torch.h>

#include <chrono>
#include <cstdint>
#include <string>

#include "distributed/work.h"

namespace distgru::dist {

// How long a collective may wait for the other ranks before the job is
// aborted (--collective-timeout): long enough for rank 0 to write a
// checkpoint or score the test set while the others wait in a collective.
constexpr std::chrono::seconds kDefaultCollectiveTimeout{300};
// How long a collective waits before the late ranks are named in a warning
// (--stall-warning): Horovod's stall inspector's 60 s.
constexpr std::chrono::seconds kDefaultStallWarning{60};

enum class ReduceOp { kSum, kMax, kMin };

class Communicator {
 public:
  virtual ~Communicator() = default;
  Communicator(const Communicator&) = delete;
  Communicator& operator=(const Communicator&) = delete;

  virtual int rank() const = 0;
  virtual int size() const = 0;
  // Position among the ranks on this host (from MPI_Comm_split_type), used to
  // pick a GPU and to size thread pools.
  virtual int local_rank() const = 0;
  virtual int local_size() const = 0;
  virtual std::string backend() const = 0;  // "mpi", "nccl"
  // Where tensors handed to this communicator must live (CPU for mpi, this
  // rank's GPU for nccl); the trainer puts the model there too.
  virtual torch::Device device() const = 0;
  // How long the blocking forms wait (--collective-timeout), for every backend.
  std::chrono::milliseconds timeout() const { return timeout_; }

  // collective: in place over a contiguous tensor.
  virtual WorkHandle allreduce_async(torch::Tensor tensor, ReduceOp op = ReduceOp::kSum) = 0;
  // collective: root's contents replace everyone's.
  virtual WorkHandle broadcast_async(torch::Tensor tensor, int root) = 0;
  // collective: `output` has size() * input.numel() elements; rank r's input
  // lands at offset r * input.numel().
  virtual WorkHandle allgather_async(torch::Tensor input, torch::Tensor output) = 0;
  // collective
  virtual WorkHandle barrier_async() = 0;

  // collective: the asynchronous forms, waited for with timeout().
  void allreduce(torch::Tensor& tensor, ReduceOp op = ReduceOp::kSum);
  void broadcast(torch::Tensor& tensor, int root);
  void allgather(const torch::Tensor& input, torch::Tensor& output);
  void barrier();

 protected:
  explicit Communicator(std::chrono::milliseconds timeout) : timeout_(timeout) {}

  // "allreduce (sum) of 185000 float" and the like, for Work::what().
  static std::string describe(const char* op, const torch::Tensor& tensor, const std::string& detail = "");

 private:
  const std::chrono::milliseconds timeout_;
};

}  // namespace distgru::dist
