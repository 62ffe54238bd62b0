#include "runtime/process_settings.h"

#include <malloc.h>
#include <sched.h>
#include <unistd.h>
#if defined(__SSE__)
#include <xmmintrin.h>
#endif

#include <algorithm>
#include <cstdlib>
#include <thread>

#include <torch/torch.h>

#include "common/native.h"

namespace distgru::runtime {
namespace {
// Larger than a step's peak working set (~1 GB per rank at the default sizes), so
// memory freed at the end of a step stays mapped for the next one.
constexpr int kTrimThreshold = 1 << 30;
// Heap growth stride: a few of the largest per-step buffers.
constexpr int kTopPad = 256 << 20;
bool allocator_configured = false;
}  // namespace

int available_cores() {
  cpu_set_t set;
  CPU_ZERO(&set);
  if (sched_getaffinity(0, sizeof(set), &set) == 0) return std::max(1, CPU_COUNT(&set));
  return std::max(1u, std::thread::hardware_concurrency());
}

void configure_allocator() {
  static bool done = false;
  if (done) return;
  done = true;
  if (std::getenv("GLIBC_TUNABLES") != nullptr) return;
  // mmap is the only way glibc would give a block over the threshold; with
  // it off such blocks come from the heap and are reused after free. The
  // trim threshold keeps freed heap top pages mapped between steps; the top
  // pad grows the heap in large strides instead of page by page.
  mallopt(M_MMAP_MAX, 0);
  mallopt(M_TRIM_THRESHOLD, kTrimThreshold);
  mallopt(M_TOP_PAD, kTopPad);
  allocator_configured = true;
}

std::string allocator_tunables() {
  if (!allocator_configured) return "";
  return "glibc.malloc.mmap_max=0:glibc.malloc.trim_threshold=" + std::to_string(kTrimThreshold) +
         ":glibc.malloc.top_pad=" + std::to_string(kTopPad);
}

bool configure_denormals() { return at::globalContext().setFlushDenormal(true); }

bool flushes_denormals() {
#if defined(__SSE__)
  constexpr unsigned kFlushToZero = 0x8000, kDenormalsAreZero = 0x0040;
  return (_mm_getcsr() & (kFlushToZero | kDenormalsAreZero)) == (kFlushToZero | kDenormalsAreZero);
#else
  return false;
#endif
}

int configure_threads(int requested, int local_ranks) {
  configure_allocator();
  configure_denormals();
  int threads = requested;
  if (threads <= 0) {
    const int allowed = available_cores();
    const int online = std::max(1, static_cast<int>(sysconf(_SC_NPROCESSORS_ONLN)));
    // A launcher that bound this rank to a subset of the cores (mpirun
    // --map-by slot:PE=T, srun --cpus-per-task) already did the division.
    threads = allowed < online ? allowed : std::max(1, online / std::max(1, local_ranks));
  }
  torch::set_num_threads(threads);
  // The inter-op pool can only be sized once per process, before first use.
  static bool interop_set = false;
  if (!interop_set) {
    try {
      torch::set_num_interop_threads(1);
    } catch (const c10::Error&) {
      // Already started by an earlier call in this process: harmless.
    }
    interop_set = true;
  }
  set_openblas_threads(threads);  // a no-op when the BLAS is not OpenBLAS
  return threads;
}

}  // namespace distgru::runtime
