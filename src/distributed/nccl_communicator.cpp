#include "distributed/nccl_communicator.h"

#include <cstring>
#include <mutex>
#include <thread>

#include "common/log.h"
#include "distributed/cuda_handles.h"

namespace distgru::dist {

struct NcclCommunicator::State {
  std::mutex mu;  // one launch or abort at a time
  int device = 0;
  std::chrono::milliseconds stall_warning{0};
  std::unique_ptr<CudaStream> stream;
  std::unique_ptr<CudaEvent> ready;  // recorded on the default stream before each launch
  std::unique_ptr<NcclComm> comm;
  bool aborted = false;  // guarded by mu
};

namespace {

ncclDataType_t nccl_type(torch::ScalarType type) {
  switch (type) {
    case torch::kFloat: return ncclFloat32;
    case torch::kDouble: return ncclFloat64;
    case torch::kHalf: return ncclFloat16;
    case torch::kBFloat16: return ncclBfloat16;
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

// One NCCL collective queued on the private stream; done when its event is.
class NcclWork final : public Work {
 public:
  NcclWork(std::shared_ptr<NcclCommunicator::State> state, std::string what,
           std::vector<torch::Tensor> keep_alive)
      : state_(std::move(state)), what_(std::move(what)), keep_alive_(std::move(keep_alive)) {}

  CudaEvent& done_event() { return done_; }

  void wait(std::chrono::milliseconds timeout) override {
    if (finished_) {
      if (error_) std::rethrow_exception(error_);
      return;
    }
    const auto start = std::chrono::steady_clock::now();
    const auto deadline = start + timeout;
    bool warned = false;
    DISTGRU_CUDA_CHECK(cudaSetDevice(state_->device));
    try {
      for (;;) {
        const cudaError_t status = cudaEventQuery(done_.get());
        if (status == cudaSuccess) break;
        if (status != cudaErrorNotReady) {
          abort();
          DISTGRU_CUDA_CHECK(status);
        }
        ncclResult_t async = ncclSuccess;
        {
          std::lock_guard<std::mutex> lock(state_->mu);
          DISTGRU_CHECK(!state_->aborted, what_ + ": the NCCL communicator was aborted by an earlier failure");
          DISTGRU_NCCL_CHECK(ncclCommGetAsyncError(state_->comm->get(), &async));
        }
        if (async != ncclSuccess) {
          abort();
          DISTGRU_FAIL(what_ + ": asynchronous NCCL error " + ncclGetErrorString(async) +
                       "; communicator aborted");
        }
        if (!warned && std::chrono::steady_clock::now() - start > state_->stall_warning) {
          spdlog::warn("stall: {} has not completed after {:.0f} s (NCCL cannot tell which ranks are late)", what_,
                       std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count());
          warned = true;
        }
        if (std::chrono::steady_clock::now() > deadline) {
          abort();
          DISTGRU_FAIL(timeout_message(what_, timeout) + "; NCCL communicator aborted");
        }
        std::this_thread::sleep_for(std::chrono::microseconds(50));
      }
    } catch (...) {
      finished_ = true;
      error_ = std::current_exception();
      keep_alive_.clear();
      throw;
    }
    finished_ = true;
    keep_alive_.clear();
  }

  bool completed() override {
    if (finished_) return true;
    return cudaEventQuery(done_.get()) != cudaErrorNotReady;
  }

  const std::string& what() const override { return what_; }

 private:
  void abort() {
    std::lock_guard<std::mutex> lock(state_->mu);
    if (!state_->aborted) state_->comm->abort();
    state_->aborted = true;
  }

  std::shared_ptr<NcclCommunicator::State> state_;
  const std::string what_;
  std::vector<torch::Tensor> keep_alive_;
  CudaEvent done_;
  bool finished_ = false;
  std::exception_ptr error_;
};

}  // namespace

NcclCommunicator::NcclCommunicator(std::unique_ptr<MpiCommunicator> bootstrap,
                                   std::chrono::milliseconds timeout, std::chrono::milliseconds stall_warning)
    : Communicator(timeout), bootstrap_(std::move(bootstrap)), state_(std::make_shared<State>()) {
  state_->stall_warning = stall_warning;
  int devices = 0;
  DISTGRU_CUDA_CHECK(cudaGetDeviceCount(&devices));
  DISTGRU_CHECK(devices > 0, "backend nccl: no CUDA device visible");
  state_->device = bootstrap_->local_rank() % devices;
  DISTGRU_CUDA_CHECK(cudaSetDevice(state_->device));

  ncclUniqueId id;
  if (bootstrap_->rank() == 0) DISTGRU_NCCL_CHECK(ncclGetUniqueId(&id));
  auto bytes = torch::empty({static_cast<int64_t>(sizeof(id))}, torch::kByte);
  if (bootstrap_->rank() == 0) std::memcpy(bytes.data_ptr(), &id, sizeof(id));
  bootstrap_->broadcast(bytes, 0);
  std::memcpy(&id, bytes.data_ptr(), sizeof(id));

  state_->stream = std::make_unique<CudaStream>();
  state_->ready = std::make_unique<CudaEvent>();
  state_->comm = std::make_unique<NcclComm>(bootstrap_->size(), id, bootstrap_->rank());
}

NcclCommunicator::~NcclCommunicator() = default;

torch::Device NcclCommunicator::device() const {
  return {torch::kCUDA, static_cast<int8_t>(state_->device)};
}

void NcclCommunicator::check(const torch::Tensor& tensor, const char* op) const {
  DISTGRU_CHECK(tensor.defined(), std::string("nccl ") + op + ": undefined tensor");
  DISTGRU_CHECK(tensor.device().is_cuda(),
                std::string("backend nccl does not support ") + op + " on device " +
                    tensor.device().str() + " (CPU tensors go through the mpi backend)");
  DISTGRU_CHECK(tensor.device().index() == state_->device,
                std::string("nccl ") + op + ": tensor is on " + tensor.device().str() +
                    " but this rank's device is cuda:" + std::to_string(state_->device));
  DISTGRU_CHECK(tensor.is_contiguous(), std::string("nccl ") + op + ": tensor must be contiguous");
}

template <typename Launch>
WorkHandle NcclCommunicator::start(std::string what, std::vector<torch::Tensor> keep_alive, Launch launch) {
  DISTGRU_CUDA_CHECK(cudaSetDevice(state_->device));  // CUDA's current device is per thread
  std::lock_guard<std::mutex> lock(state_->mu);
  DISTGRU_CHECK(!state_->aborted, what + ": the NCCL communicator was aborted by an earlier failure");
  auto work = std::make_shared<NcclWork>(state_, what + " (collective #" + std::to_string(++started_) + ")",
                                         std::move(keep_alive));
  // After every kernel already queued on the default stream (the ones that
  // filled the tensor), without making the default stream wait for NCCL.
  DISTGRU_CUDA_CHECK(cudaEventRecord(state_->ready->get(), cudaStreamLegacy));
  DISTGRU_CUDA_CHECK(cudaStreamWaitEvent(state_->stream->get(), state_->ready->get(), 0));
  launch(state_->comm->get(), state_->stream->get());
  DISTGRU_CUDA_CHECK(cudaEventRecord(work->done_event().get(), state_->stream->get()));
  return work;
}

WorkHandle NcclCommunicator::allreduce_async(torch::Tensor tensor, ReduceOp op) {
  check(tensor, "allreduce");
  return start(describe("allreduce", tensor), {tensor}, [&](ncclComm_t comm, cudaStream_t stream) {
    DISTGRU_NCCL_CHECK(ncclAllReduce(tensor.data_ptr(), tensor.data_ptr(), static_cast<size_t>(tensor.numel()),
                                     nccl_type(tensor.scalar_type()), nccl_op(op), comm, stream));
  });
}

WorkHandle NcclCommunicator::broadcast_async(torch::Tensor tensor, int root) {
  check(tensor, "broadcast");
  DISTGRU_CHECK(root >= 0 && root < size(), "nccl broadcast: root out of range");
  return start(describe("broadcast", tensor, "from rank " + std::to_string(root)), {tensor},
               [&](ncclComm_t comm, cudaStream_t stream) {
                 DISTGRU_NCCL_CHECK(ncclBroadcast(tensor.data_ptr(), tensor.data_ptr(),
                                                  static_cast<size_t>(tensor.numel()),
                                                  nccl_type(tensor.scalar_type()), root, comm, stream));
               });
}

WorkHandle NcclCommunicator::allgather_async(torch::Tensor input, torch::Tensor output) {
  check(input, "allgather");
  check(output, "allgather");
  DISTGRU_CHECK(output.numel() == input.numel() * size() && output.scalar_type() == input.scalar_type(),
                "nccl allgather: output must hold size() * input.numel() of the same dtype");
  return start(describe("allgather", input), {input, output}, [&](ncclComm_t comm, cudaStream_t stream) {
    DISTGRU_NCCL_CHECK(ncclAllGather(input.data_ptr(), output.data_ptr(), static_cast<size_t>(input.numel()),
                                     nccl_type(input.scalar_type()), comm, stream));
  });
}

WorkHandle NcclCommunicator::barrier_async() {
  // NCCL has no barrier: a one-element allreduce that every rank must join.
  auto token = torch::zeros({1}, torch::TensorOptions().dtype(torch::kFloat).device(device()));
  check(token, "barrier");
  return start("barrier", {token}, [&](ncclComm_t comm, cudaStream_t stream) {
    DISTGRU_NCCL_CHECK(ncclAllReduce(token.data_ptr(), token.data_ptr(), 1, ncclFloat32, ncclSum, comm, stream));
  });
}

}  // namespace distgru::dist
