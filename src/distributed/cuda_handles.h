#pragma once
// Private to src/distributed (NCCL builds only): checked CUDA and NCCL calls and RAII
// owners for a stream and an event.

#include <cuda_runtime_api.h>
#include <nccl.h>

#include <string>

#include "common/error.h"

#define DISTGRU_CUDA_CHECK(call)                                                          \
  do {                                                                                   \
    const cudaError_t distgru_cuda_rc_ = (call);                                         \
    if (distgru_cuda_rc_ != cudaSuccess)                                                 \
      ::distgru::throw_error(std::string(#call) + " failed: " +                         \
                                 cudaGetErrorString(distgru_cuda_rc_) + " (code " +      \
                                 std::to_string(static_cast<int>(distgru_cuda_rc_)) + ")", \
                             __FILE__, __LINE__);                                        \
  } while (0)

#define DISTGRU_NCCL_CHECK(call)                                                          \
  do {                                                                                   \
    const ncclResult_t distgru_nccl_rc_ = (call);                                        \
    if (distgru_nccl_rc_ != ncclSuccess && distgru_nccl_rc_ != ncclInProgress)           \
      ::distgru::throw_error(std::string(#call) + " failed: " +                         \
                                 ncclGetErrorString(distgru_nccl_rc_) + " (code " +      \
                                 std::to_string(static_cast<int>(distgru_nccl_rc_)) + ")", \
                             __FILE__, __LINE__);                                        \
  } while (0)

namespace distgru::dist {

class CudaStream {
 public:
  CudaStream() { DISTGRU_CUDA_CHECK(cudaStreamCreateWithFlags(&stream_, cudaStreamNonBlocking)); }
  ~CudaStream() { if (stream_) cudaStreamDestroy(stream_); }
  CudaStream(const CudaStream&) = delete;
  CudaStream& operator=(const CudaStream&) = delete;
  cudaStream_t get() const { return stream_; }

 private:
  cudaStream_t stream_ = nullptr;
};

class CudaEvent {
 public:
  CudaEvent() { DISTGRU_CUDA_CHECK(cudaEventCreateWithFlags(&event_, cudaEventDisableTiming)); }
  ~CudaEvent() { if (event_) cudaEventDestroy(event_); }
  CudaEvent(const CudaEvent&) = delete;
  CudaEvent& operator=(const CudaEvent&) = delete;
  cudaEvent_t get() const { return event_; }

 private:
  cudaEvent_t event_ = nullptr;
};

// Owns an ncclComm_t: destroyed in the destructor, or aborted (never blocks)
// after a failure or timeout, as c10d's NCCLComm.
class NcclComm {
 public:
  NcclComm(int size, const ncclUniqueId& id, int rank) {
    DISTGRU_NCCL_CHECK(ncclCommInitRank(&comm_, size, id, rank));
  }
  ~NcclComm() {
    if (comm_) ncclCommDestroy(comm_);
  }
  NcclComm(const NcclComm&) = delete;
  NcclComm& operator=(const NcclComm&) = delete;
  ncclComm_t get() const { return comm_; }
  void abort() {
    if (comm_) ncclCommAbort(comm_);
    comm_ = nullptr;
  }

 private:
  ncclComm_t comm_ = nullptr;
};

}  // namespace distgru::dist
