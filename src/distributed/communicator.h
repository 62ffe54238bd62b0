#pragma once
// The one narrow interface for collectives, after c10d's Backend and Gloo's
// Context. Backends (MPI for CPU tensors, NCCL for CUDA tensors) live in their
// own files behind create_communicator() in factory.h. The communicator never
// sees the model: gradient_sync.h decides what to reduce.
//
// Every method marked "collective" must be called by every rank, in the same
// order, with tensors of the same shape and dtype. Calls come from one thread
// at a time.

#include <torch/torch.h>

#include <chrono>
#include <string>

namespace distgru::dist {

// How long a collective may wait for the other ranks before the job is
// aborted (--collective-timeout): long enough for rank 0 to write a
// checkpoint or score the test set while the others wait in a collective.
constexpr std::chrono::seconds kDefaultCollectiveTimeout{300};

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
  // Whether collectives may come from one other thread while the thread that
  // made this communicator makes none (MPI_THREAD_SERIALIZED): the gradient
  // sync's communication thread needs it.
  virtual bool serialized_threads_ok() const = 0;

  // collective: in place over a contiguous tensor.
  virtual void allreduce(torch::Tensor& tensor, ReduceOp op = ReduceOp::kSum) = 0;
  // collective: root's contents replace everyone's.
  virtual void broadcast(torch::Tensor& tensor, int root) = 0;
  // collective: `output` has size() * input.numel() elements; rank r's input
  // lands at offset r * input.numel().
  virtual void allgather(const torch::Tensor& input, torch::Tensor& output) = 0;
  // collective
  virtual void barrier() = 0;

 protected:
  Communicator() = default;
};

}  // namespace distgru::dist
