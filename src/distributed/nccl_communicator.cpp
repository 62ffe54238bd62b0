#include "distributed/nccl_communicator.h"

#include <cstring>
#include <thread>

#include "distributed/cuda_handles.h"

namespace distgru::dist {
namespace {

ncclDataType_t nccl_type(torch::ScalarType type) {
  switch (type) {
    case torch::kFloat: return ncclFloat32;
    case torch::kDouble: return ncclFloat64;
    case torch::kHalf: return ncclFloat16;
    case torch::kInt: return ncclInt32;
    case torch::kLong: return ncclInt64;
    case torch::kByte: return ncclUint8;
    case torch::kChar: return ncclInt8;
    default:
      DISTGRU_FAIL(std::string("backend nccl does not support dtype ") +
                   std::string(c10::toString(type)));
  }
}

ncclRedOp_t nccl_op(ReduceOp op) {
  switch (op) {
    case ReduceOp::kSum: return ncclSum;
    case ReduceOp::kMax: return ncclMax;
    case ReduceOp::kMin: return ncclMin;
  }
  DISTGRU_FAIL("unknown ReduceOp");
}

}  // namespace

NcclCommunicator::NcclCommunicator(std::unique_ptr<MpiCommunicator> bootstrap,
                                   std::chrono::seconds timeout)
    : bootstrap_(std::move(bootstrap)), timeout_(timeout) {
  int devices = 0;
  DISTGRU_CUDA_CHECK(cudaGetDeviceCount(&devices));
  DISTGRU_CHECK(devices > 0, "backend nccl: no CUDA device visible");
  device_ = bootstrap_->local_rank() % devices;
  DISTGRU_CUDA_CHECK(cudaSetDevice(device_));

  ncclUniqueId id;
  if (bootstrap_->rank() == 0) DISTGRU_NCCL_CHECK(ncclGetUniqueId(&id));
  auto bytes = torch::empty({static_cast<int64_t>(sizeof(id))}, torch::kByte);
  if (bootstrap_->rank() == 0) std::memcpy(bytes.data_ptr(), &id, sizeof(id));
  bootstrap_->broadcast(bytes, 0);
  std::memcpy(&id, bytes.data_ptr(), sizeof(id));

  stream_ = std::make_unique<CudaStream>();
  ready_ = std::make_unique<CudaEvent>();
  comm_ = std::make_unique<NcclComm>(bootstrap_->size(), id, bootstrap_->rank());
}

NcclCommunicator::~NcclCommunicator() = default;

void NcclCommunicator::enter(const torch::Tensor& tensor, const char* op) const {
  DISTGRU_CUDA_CHECK(cudaSetDevice(device_));
  DISTGRU_CHECK(tensor.defined(), std::string("nccl ") + op + ": undefined tensor");
  DISTGRU_CHECK(tensor.device().is_cuda(),
                std::string("backend nccl does not support ") + op + " on device " +
                    tensor.device().str() + " (CPU tensors go through the mpi backend)");
  DISTGRU_CHECK(tensor.device().index() == device_,
                std::string("nccl ") + op + ": tensor is on " + tensor.device().str() +
                    " but this rank's device is cuda:" + std::to_string(device_));
  DISTGRU_CHECK(tensor.is_contiguous(), std::string("nccl ") + op + ": tensor must be contiguous");
}

void NcclCommunicator::order_after_default_stream() {
  DISTGRU_CUDA_CHECK(cudaEventRecord(ready_->get(), cudaStreamLegacy));
  DISTGRU_CUDA_CHECK(cudaStreamWaitEvent(stream_->get(), ready_->get(), 0));
}

void NcclCommunicator::wait(const char* op) {
  const auto deadline = std::chrono::steady_clock::now() + timeout_;
  for (;;) {
    const cudaError_t state = cudaStreamQuery(stream_->get());
    if (state == cudaSuccess) return;
    if (state != cudaErrorNotReady) {
      comm_->abort();
      DISTGRU_CUDA_CHECK(state);
    }
    ncclResult_t async = ncclSuccess;
    DISTGRU_NCCL_CHECK(ncclCommGetAsyncError(comm_->get(), &async));
    if (async != ncclSuccess) {
      comm_->abort();
      DISTGRU_FAIL(std::string("nccl ") + op + ": asynchronous error " + ncclGetErrorString(async) +
                   "; communicator aborted");
    }
    if (std::chrono::steady_clock::now() > deadline) {
      comm_->abort();
      DISTGRU_FAIL(std::string("nccl ") + op + ": no completion within " +
                   std::to_string(timeout_.count()) +
                   " s (a peer rank died or stalled); communicator aborted");
    }
    std::this_thread::sleep_for(std::chrono::microseconds(50));
  }
}

void NcclCommunicator::allreduce(torch::Tensor& tensor, ReduceOp op) {
  enter(tensor, "allreduce");
  order_after_default_stream();
  DISTGRU_NCCL_CHECK(ncclAllReduce(tensor.data_ptr(), tensor.data_ptr(),
                                   static_cast<size_t>(tensor.numel()),
                                   nccl_type(tensor.scalar_type()), nccl_op(op), comm_->get(),
                                   stream_->get()));
  wait("allreduce");
}

void NcclCommunicator::broadcast(torch::Tensor& tensor, int root) {
  enter(tensor, "broadcast");
  DISTGRU_CHECK(root >= 0 && root < size(), "nccl broadcast: root out of range");
  order_after_default_stream();
  DISTGRU_NCCL_CHECK(ncclBroadcast(tensor.data_ptr(), tensor.data_ptr(),
                                   static_cast<size_t>(tensor.numel()),
                                   nccl_type(tensor.scalar_type()), root, comm_->get(),
                                   stream_->get()));
  wait("broadcast");
}

void NcclCommunicator::allgather(const torch::Tensor& input, torch::Tensor& output) {
  enter(input, "allgather");
  enter(output, "allgather");
  DISTGRU_CHECK(output.numel() == input.numel() * size() &&
                    output.scalar_type() == input.scalar_type(),
                "nccl allgather: output must hold size() * input.numel() of the same dtype");
  order_after_default_stream();
  DISTGRU_NCCL_CHECK(ncclAllGather(input.data_ptr(), output.data_ptr(),
                                   static_cast<size_t>(input.numel()),
                                   nccl_type(input.scalar_type()), comm_->get(), stream_->get()));
  wait("allgather");
}

void NcclCommunicator::barrier() {
  auto token = torch::zeros({1}, torch::TensorOptions().dtype(torch::kFloat).device(
                                     torch::kCUDA, device_));
  allreduce(token, ReduceOp::kSum);
}

}  // namespace distgru::dist
