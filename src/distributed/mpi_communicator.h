#pragma once
// Communicator over MPI for CPU tensors. Owns a duplicate of MPI_COMM_WORLD so
// its traffic never mixes with anyone else's, and a node-local communicator
// from MPI_Comm_split_type for local rank and size.

#include <mpi.h>

#include "distributed/communicator.h"
#include "distributed/mpi_session.h"

namespace distgru::dist {

class MpiCommunicator final : public Communicator {
 public:
  // kWorld spans every rank of the job; kSelf is this process alone (a world of
  // one, for single-process references in tests and tools).
  enum class Scope { kWorld, kSelf };

  // The session must outlive the communicator.
  explicit MpiCommunicator(const MpiSession& session, Scope scope = Scope::kWorld);
  ~MpiCommunicator() override;

  int rank() const override { return rank_; }
  int size() const override { return size_; }
  int local_rank() const override { return local_rank_; }
  int local_size() const override { return local_size_; }
  std::string backend() const override { return "mpi"; }
  torch::Device device() const override { return torch::kCPU; }
  bool serialized_threads_ok() const override;

  void allreduce(torch::Tensor& tensor, ReduceOp op) override;
  void broadcast(torch::Tensor& tensor, int root) override;
  void allgather(const torch::Tensor& input, torch::Tensor& output) override;
  void barrier() override;

 private:
  void check_cpu(const torch::Tensor& tensor, const char* op) const;

  // Constant after construction.
  MPI_Comm comm_ = MPI_COMM_NULL;
  int rank_ = 0;
  int size_ = 1;
  int local_rank_ = 0;
  int local_size_ = 1;
};

}  // namespace distgru::dist
