#pragma once
// Communicator over MPI for CPU tensors. Owns a duplicate of MPI_COMM_WORLD so
// its traffic never mixes with anyone else's, and a node-local communicator
// from MPI_Comm_split_type for local rank and size.
//
// Every MPI call of a collective is made by the communicator's own thread
// (work_queue.h), one at a time, under the process-wide MPI lock
// (mpi_session.h), so collectives started from the main thread and from
// autograd's gradient hooks never meet inside MPI (MPI_THREAD_SERIALIZED),
// and a wait can give up after timeout() while the call is still blocked.

#include <mpi.h>

#include <functional>
#include <memory>
#include <mutex>

#include "distributed/communicator.h"
#include "distributed/heartbeat.h"
#include "distributed/mpi_arrivals.h"
#include "distributed/mpi_session.h"
#include "distributed/work_queue.h"

namespace distgru::dist {

class MpiCommunicator final : public Communicator {
 public:
  // kWorld spans every rank of the job; kSelf is this process alone (a world of
  // one, for single-process references in tests and tools).
  enum class Scope { kWorld, kSelf };

  // collective (kWorld): every rank constructs it. The session must outlive
  // the communicator. A collective that waits longer than `stall_warning`
  // for other ranks is reported, naming them (mpi_arrivals.h).
  explicit MpiCommunicator(const MpiSession& session, Scope scope = Scope::kWorld,
                           std::chrono::milliseconds timeout = kDefaultCollectiveTimeout,
                           std::chrono::milliseconds stall_warning = kDefaultStallWarning);
  ~MpiCommunicator() override;

  int rank() const override { return rank_; }
  int size() const override { return size_; }
  int local_rank() const override { return local_rank_; }
  int local_size() const override { return local_size_; }
  std::string backend() const override { return "mpi"; }
  torch::Device device() const override { return torch::kCPU; }

  WorkHandle allreduce_async(torch::Tensor tensor, ReduceOp op) override;
  WorkHandle broadcast_async(torch::Tensor tensor, int root) override;
  WorkHandle allgather_async(torch::Tensor input, torch::Tensor output) override;
  WorkHandle barrier_async() override;

 private:
  void check_cpu(const torch::Tensor& tensor, const char* op) const;
  // Queues `call` as the next collective, named `what`: on the queue's
  // thread, the arrival check first (when there are other ranks), then the call.
  WorkHandle start(const std::string& what, std::function<void(MPI_Comm)> call);

  // Constant after construction.
  MPI_Comm comm_ = MPI_COMM_NULL;
  int rank_ = 0;
  int size_ = 1;
  int local_rank_ = 0;
  int local_size_ = 1;
  std::unique_ptr<WorkQueue> queue_;
  std::shared_ptr<MpiArrivals> arrivals_;  // null in a world of one
  std::shared_ptr<Heartbeat> heartbeat_;   // null in a world of one

  int64_t started_ = 0;  // collectives started so far; guarded by start_mu_
  std::mutex start_mu_;
};

}  // namespace distgru::dist
