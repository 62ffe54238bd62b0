#include "model/gru_step.h"

#include <type_traits>

#include "common/native.h"
#include "model/gru_kernels.h"

namespace distgru::model {
namespace {

// The per-step kernels. Float gets one build per instruction set, chosen once
// from the CPU's feature bits, so one binary uses AVX-512 or AVX2 where the CPU
// has them; float64 (tests, gradient checks) stays on the baseline build.
// Not GCC's target_clones("arch=..."): its resolver asks __builtin_cpu_is for
// the CPU model, which is unset on models newer than the compiler (this
// machine's family 6 model 207 got the SSE2 clone, 3x slower).
#define DISTGRU_AVX512 __attribute__((target("avx512f,avx512vl,avx512bw,avx512dq,avx2,fma")))
#define DISTGRU_AVX2 __attribute__((target("avx2,fma")))

enum class Isa { kBaseline, kAvx2, kAvx512 };

Isa detect_isa() {
  if (cpu_has_avx512()) return Isa::kAvx512;
  if (cpu_has_avx2_fma()) return Isa::kAvx2;
  return Isa::kBaseline;
}

const Isa kIsa = detect_isa();

#define DISTGRU_FORWARD_ARGS_OF(T)                                                                  \
  int64_t B, int64_t H, const T *gi, int64_t gi_ld, const T *gh, const T *b_ih, const T *b_hh,     \
      const T *h_prev, T *r, T *z, T *n, T *hn, T *h, T *y, int64_t y_ld
#define DISTGRU_BACKWARD_ARGS_OF(T)                                                                 \
  int64_t B, int64_t H, const T *dy, int64_t dy_ld, const T *dh_next, const T *r, const T *z,      \
      const T *n, const T *hn, const T *h_prev, T *dgi, int64_t dgi_ld, T *dgh, T *carry
#define DISTGRU_FORWARD_ARGS DISTGRU_FORWARD_ARGS_OF(T)
#define DISTGRU_BACKWARD_ARGS DISTGRU_BACKWARD_ARGS_OF(T)

template <typename T>
void step_forward_baseline(DISTGRU_FORWARD_ARGS) {
  kernels::gru_step_forward<T>(B, H, gi, gi_ld, gh, b_ih, b_hh, h_prev, r, z, n, hn, h, y, y_ld);
}
template <typename T>
DISTGRU_AVX2 void step_forward_avx2(DISTGRU_FORWARD_ARGS) {
  kernels::gru_step_forward<T>(B, H, gi, gi_ld, gh, b_ih, b_hh, h_prev, r, z, n, hn, h, y, y_ld);
}
template <typename T>
DISTGRU_AVX512 void step_forward_avx512(DISTGRU_FORWARD_ARGS) {
  kernels::gru_step_forward<T>(B, H, gi, gi_ld, gh, b_ih, b_hh, h_prev, r, z, n, hn, h, y, y_ld);
}
template <typename T>
void step_backward_baseline(DISTGRU_BACKWARD_ARGS) {
  kernels::gru_step_backward<T>(B, H, dy, dy_ld, dh_next, r, z, n, hn, h_prev, dgi, dgi_ld, dgh, carry);
}
template <typename T>
DISTGRU_AVX2 void step_backward_avx2(DISTGRU_BACKWARD_ARGS) {
  kernels::gru_step_backward<T>(B, H, dy, dy_ld, dh_next, r, z, n, hn, h_prev, dgi, dgi_ld, dgh, carry);
}
template <typename T>
DISTGRU_AVX512 void step_backward_avx512(DISTGRU_BACKWARD_ARGS) {
  kernels::gru_step_backward<T>(B, H, dy, dy_ld, dh_next, r, z, n, hn, h_prev, dgi, dgi_ld, dgh, carry);
}

}  // namespace

template <typename T>
void step_forward(DISTGRU_FORWARD_ARGS) {
  if constexpr (std::is_same_v<T, float>) {
    if (kIsa == Isa::kAvx512) return step_forward_avx512<T>(B, H, gi, gi_ld, gh, b_ih, b_hh, h_prev, r, z, n, hn, h, y, y_ld);
    if (kIsa == Isa::kAvx2) return step_forward_avx2<T>(B, H, gi, gi_ld, gh, b_ih, b_hh, h_prev, r, z, n, hn, h, y, y_ld);
  }
  step_forward_baseline<T>(B, H, gi, gi_ld, gh, b_ih, b_hh, h_prev, r, z, n, hn, h, y, y_ld);
}

template <typename T>
void step_backward(DISTGRU_BACKWARD_ARGS) {
  if constexpr (std::is_same_v<T, float>) {
    if (kIsa == Isa::kAvx512) {
      return step_backward_avx512<T>(B, H, dy, dy_ld, dh_next, r, z, n, hn, h_prev, dgi, dgi_ld, dgh, carry);
    }
    if (kIsa == Isa::kAvx2) {
      return step_backward_avx2<T>(B, H, dy, dy_ld, dh_next, r, z, n, hn, h_prev, dgi, dgi_ld, dgh, carry);
    }
  }
  step_backward_baseline<T>(B, H, dy, dy_ld, dh_next, r, z, n, hn, h_prev, dgi, dgi_ld, dgh, carry);
}

template void step_forward<float>(DISTGRU_FORWARD_ARGS_OF(float));
template void step_forward<double>(DISTGRU_FORWARD_ARGS_OF(double));
template void step_backward<float>(DISTGRU_BACKWARD_ARGS_OF(float));
template void step_backward<double>(DISTGRU_BACKWARD_ARGS_OF(double));

const char* gru_step_isa() {
  switch (kIsa) {
    case Isa::kAvx512: return "AVX-512";
    case Isa::kAvx2: return "AVX2";
    case Isa::kBaseline: break;
  }
  return "baseline";
}

}  // namespace distgru::model
