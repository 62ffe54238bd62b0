#include "distributed/mpi_communicator.h"

#include <c10/util/BFloat16.h>

#include <algorithm>
#include <climits>

#include "distributed/mpi_check.h"

namespace distgru::dist {
namespace {

MPI_Datatype mpi_type(torch::ScalarType type) {
  switch (type) {
    case torch::kFloat: return MPI_FLOAT;
    case torch::kDouble: return MPI_DOUBLE;
    case torch::kInt: return MPI_INT32_T;
    case torch::kLong: return MPI_INT64_T;
    case torch::kByte: return MPI_UINT8_T;
    case torch::kChar: return MPI_INT8_T;
    case torch::kBFloat16: return MPI_UINT16_T;  // the bits; summed by bf16_sum_op() below
    default:
      DISTGRU_FAIL(std::string("backend mpi does not support dtype ") +
                   std::string(c10::toString(type)));
  }
}

// MPI has no bfloat16 type: the values travel as their 16 bits and are added
// by this user-defined operation, each pair in float and rounded back to the
// nearest bfloat16 (ties to even, c10::BFloat16's conversion), as NCCL's
// ncclBfloat16 sum does. Addition of two values is commutative, so MPI may
// pick any reduction order it picks for MPI_SUM.
void bf16_sum(void* in, void* inout, int* len, MPI_Datatype* /*type*/) {
  const auto* a = static_cast<const c10::BFloat16*>(in);
  auto* b = static_cast<c10::BFloat16*>(inout);
  for (int i = 0; i < *len; ++i) b[i] = c10::BFloat16(static_cast<float>(a[i]) + static_cast<float>(b[i]));
}

// Created once per process, by the first communicator (under the MPI lock),
// and kept for the life of the process.
MPI_Op bf16_sum_op() {
  static const MPI_Op op = [] {
    MPI_Op created = MPI_OP_NULL;
    DISTGRU_MPI_CHECK(MPI_Op_create(&bf16_sum, /*commute=*/1, &created));
    return created;
  }();
  return op;
}

MPI_Op mpi_op(ReduceOp op, torch::ScalarType type) {
  if (type == torch::kBFloat16) {
    DISTGRU_CHECK(op == ReduceOp::kSum, "backend mpi reduces bfloat16 tensors by sum only");
    return bf16_sum_op();
  }
  switch (op) {
    case ReduceOp::kSum: return MPI_SUM;
    case ReduceOp::kMax: return MPI_MAX;
    case ReduceOp::kMin: return MPI_MIN;
  }
  DISTGRU_FAIL("unknown ReduceOp");
}

const char* op_name(ReduceOp op) {
  switch (op) {
    case ReduceOp::kSum: return "sum";
    case ReduceOp::kMax: return "max";
    case ReduceOp::kMin: return "min";
  }
  return "?";
}

// MPI counts are int: send larger buffers in pieces.
constexpr int64_t kMaxChunk = INT_MAX / 2;

bool threads_allowed() {
  int provided = MPI_THREAD_SINGLE;
  DISTGRU_MPI_CHECK(MPI_Query_thread(&provided));
  return provided >= MPI_THREAD_SERIALIZED;
}

}  // namespace

MpiCommunicator::MpiCommunicator(const MpiSession& session, Scope scope, std::chrono::milliseconds timeout,
                                 std::chrono::milliseconds stall_warning)
    : Communicator(timeout) {
  std::lock_guard<std::mutex> lock(mpi_call_mutex());
  DISTGRU_MPI_CHECK(MPI_Comm_dup(scope == Scope::kWorld ? MPI_COMM_WORLD : MPI_COMM_SELF, &comm_));
  DISTGRU_MPI_CHECK(MPI_Comm_set_errhandler(comm_, MPI_ERRORS_RETURN));
  DISTGRU_MPI_CHECK(MPI_Comm_rank(comm_, &rank_));
  DISTGRU_MPI_CHECK(MPI_Comm_size(comm_, &size_));
  MPI_Comm local = MPI_COMM_NULL;
  DISTGRU_MPI_CHECK(MPI_Comm_split_type(comm_, MPI_COMM_TYPE_SHARED, rank_, MPI_INFO_NULL, &local));
  DISTGRU_MPI_CHECK(MPI_Comm_rank(local, &local_rank_));
  DISTGRU_MPI_CHECK(MPI_Comm_size(local, &local_size_));
  DISTGRU_MPI_CHECK(MPI_Comm_free(&local));
  bf16_sum_op();  // here, under the lock, rather than on first use
  if (size_ > 1) {
    arrivals_ = std::make_shared<MpiArrivals>(comm_, stall_warning, session.hostname());
    heartbeat_ = std::make_shared<Heartbeat>(comm_, arrivals_->hosts());
  }
  queue_ = std::make_unique<WorkQueue>(threads_allowed(), mpi_call_mutex());
  if (heartbeat_) queue_->set_diagnosis([heartbeat = heartbeat_] { return heartbeat->diagnosis(); });
  if (size_ > 1) queue_->set_stall_warning(stall_warning);
}

MpiCommunicator::~MpiCommunicator() {
  const bool abandoned = queue_->shutdown();
  int finalized = 0;
  MPI_Finalized(&finalized);
  // An abandoned operation is still inside MPI on comm_: leave it be.
  if (comm_ != MPI_COMM_NULL && !finalized && !abandoned) {
    std::lock_guard<std::mutex> lock(mpi_call_mutex());
    if (arrivals_) arrivals_->close(false);
    MPI_Comm_free(&comm_);
  }
}

WorkHandle MpiCommunicator::start(const std::string& what, std::function<void(MPI_Comm)> call) {
  std::lock_guard<std::mutex> lock(start_mu_);
  const int64_t seq = ++started_;
  const std::string named = what + " (collective #" + std::to_string(seq) + ")";
  return queue_->submit(named, [comm = comm_, arrivals = arrivals_, seq, named, call = std::move(call)](
                                   const WorkQueue::Note& note) {
    if (arrivals) arrivals->arrive(seq, named, note);
    call(comm);
  });
}

void MpiCommunicator::check_cpu(const torch::Tensor& tensor, const char* op) const {
  DISTGRU_CHECK(tensor.defined(), std::string("mpi ") + op + ": undefined tensor");
  DISTGRU_CHECK(tensor.device().is_cpu(),
                std::string("backend mpi does not support ") + op + " on device " +
                    tensor.device().str() + " (use the nccl backend for CUDA tensors)");
  DISTGRU_CHECK(tensor.is_contiguous(), std::string("mpi ") + op + ": tensor must be contiguous");
}

WorkHandle MpiCommunicator::allreduce_async(torch::Tensor tensor, ReduceOp op) {
  check_cpu(tensor, "allreduce");
  const auto type = mpi_type(tensor.scalar_type());
  const auto reduce = mpi_op(op, tensor.scalar_type());
  return start(describe("allreduce", tensor, op_name(op)), [tensor, type, reduce](MPI_Comm comm) {
    auto* data = static_cast<char*>(tensor.data_ptr());
    const int64_t n = tensor.numel();
    for (int64_t off = 0; off < n; off += kMaxChunk) {
      const int count = static_cast<int>(std::min(kMaxChunk, n - off));
      DISTGRU_MPI_CHECK(MPI_Allreduce(MPI_IN_PLACE, data + off * tensor.element_size(), count, type,
                                      reduce, comm));
    }
  });
}

WorkHandle MpiCommunicator::broadcast_async(torch::Tensor tensor, int root) {
  check_cpu(tensor, "broadcast");
  DISTGRU_CHECK(root >= 0 && root < size_, "mpi broadcast: root out of range");
  const auto type = mpi_type(tensor.scalar_type());
  return start(describe("broadcast", tensor, "from rank " + std::to_string(root)), [tensor, type, root](MPI_Comm comm) {
    auto* data = static_cast<char*>(tensor.data_ptr());
    const int64_t n = tensor.numel();
    for (int64_t off = 0; off < n; off += kMaxChunk) {
      const int count = static_cast<int>(std::min(kMaxChunk, n - off));
      DISTGRU_MPI_CHECK(MPI_Bcast(data + off * tensor.element_size(), count, type, root, comm));
    }
  });
}

WorkHandle MpiCommunicator::allgather_async(torch::Tensor input, torch::Tensor output) {
  check_cpu(input, "allgather");
  check_cpu(output, "allgather");
  DISTGRU_CHECK(output.numel() == input.numel() * size_ &&
                    output.scalar_type() == input.scalar_type(),
                "mpi allgather: output must hold size() * input.numel() of the same dtype");
  DISTGRU_CHECK(input.numel() <= INT_MAX, "mpi allgather: input too large");
  const auto type = mpi_type(input.scalar_type());
  return start(describe("allgather", input), [input, output, type](MPI_Comm comm) {
    DISTGRU_MPI_CHECK(MPI_Allgather(input.data_ptr(), static_cast<int>(input.numel()), type,
                                    output.data_ptr(), static_cast<int>(input.numel()), type, comm));
  });
}

WorkHandle MpiCommunicator::barrier_async() {
  return start("barrier", [](MPI_Comm comm) { DISTGRU_MPI_CHECK(MPI_Barrier(comm)); });
}

}  // namespace distgru::dist
