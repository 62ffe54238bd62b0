#pragma once
// The fused per-step gate arithmetic of the fast GRU (internal header). Each
// function covers one time step of one direction: B rows of H units. Written
// as plain loops over raw pointers so the compiler vectorises them; the only
// transcendental is exp, which for float is a branch-free polynomial (below)
// because the C library's expf does not vectorise without -ffast-math. The
// clamps vectorise only with -fno-trapping-math (set for gru_step.cpp).

#include <algorithm>
#include <cmath>
#include <cstdint>
#include <cstring>

// Forced inline so that a caller compiled for a wider instruction set (the
// per-ISA wrappers in gru_step.cpp) gets these loops in its own ISA.
#define DISTGRU_KERNEL __attribute__((always_inline)) inline

namespace distgru::model::kernels {

// exp for float: Cody-Waite range reduction x = n ln2 + r, the Cephes degree-6
// polynomial for exp(r), and 2^n added to the exponent bits. Relative error
// about 1e-7 on [-87, 88]; inputs are clamped there (sigmoid and tanh saturate
// long before).
DISTGRU_KERNEL float exp_approx(float x) {
  x = std::min(std::max(x, -87.0f), 88.0f);
  // Adding 1.5 * 2^23 rounds to an integer held in the low mantissa bits.
  const float kShift = 12582912.0f;
  const float t = x * 1.44269504088896341f + kShift;
  const float n = t - kShift;
  const float r = (x - n * 0.693359375f) + n * 2.12194440e-4f;
  float p = 1.9875691500e-4f;
  p = p * r + 1.3981999507e-3f;
  p = p * r + 8.3334519073e-3f;
  p = p * r + 4.1665795894e-2f;
  p = p * r + 1.6666665459e-1f;
  p = p * r + 5.0000001201e-1f;
  const float e = p * r * r + r + 1.0f;
  int32_t ti, ki, ei;
  std::memcpy(&ti, &t, 4);
  std::memcpy(&ki, &kShift, 4);
  std::memcpy(&ei, &e, 4);
  ei += (ti - ki) * (1 << 23);
  float out;
  std::memcpy(&out, &ei, 4);
  return out;
}

template <typename T>
struct Activations {
  DISTGRU_KERNEL static T sigmoid(T x) { return T(1) / (T(1) + std::exp(-x)); }
  DISTGRU_KERNEL static T tanh(T x) { return std::tanh(x); }
};

template <>
struct Activations<float> {
  DISTGRU_KERNEL static float sigmoid(float x) { return 1.0f / (1.0f + exp_approx(-x)); }
  // 2 sigmoid(2x) - 1: absolute error ~1e-7, enough for float32 training.
  DISTGRU_KERNEL static float tanh(float x) { return 2.0f / (1.0f + exp_approx(-2.0f * x)) - 1.0f; }
};

// Forward of one step. gi: input projection rows (no bias), row stride gi_ld,
// gates r|z|n at columns [0,H) [H,2H) [2H,3H); gh: h_prev W_hh^T [B,3H] (no
// bias). Writes r, z, n, hn = W_hn h + b_hn (kept for backward) and h, both
// [B,H], and h again into y (the layer's output rows, row stride y_ld).
template <typename T>
DISTGRU_KERNEL void gru_step_forward(int64_t B, int64_t H, const T* gi, int64_t gi_ld, const T* gh,
                      const T* b_ih, const T* b_hh, const T* h_prev, T* r_out, T* z_out,
                      T* n_out, T* hn_out, T* h_out, T* y, int64_t y_ld) {
  using A = Activations<T>;
  for (int64_t b = 0; b < B; ++b) {
    const T* gib = gi + b * gi_ld;
    const T* ghb = gh + b * 3 * H;
    T* yb = y + b * y_ld;
    const int64_t o = b * H;
#pragma GCC ivdep
    for (int64_t j = 0; j < H; ++j) {
      // Same association as ATen: (x W_i + b_i) + (h W_h + b_h).
      const T r = A::sigmoid((gib[j] + b_ih[j]) + (ghb[j] + b_hh[j]));
      const T z = A::sigmoid((gib[H + j] + b_ih[H + j]) + (ghb[H + j] + b_hh[H + j]));
      const T hn = ghb[2 * H + j] + b_hh[2 * H + j];
      const T n = A::tanh((gib[2 * H + j] + b_ih[2 * H + j]) + r * hn);
      r_out[o + j] = r;
      z_out[o + j] = z;
      n_out[o + j] = n;
      hn_out[o + j] = hn;
      const T h = (h_prev[o + j] - n) * z + n;
      h_out[o + j] = h;
      yb[j] = h;
    }
  }
}

// Backward of one step. dy: gradient of this step's output (row stride dy_ld);
// dh_next: gradient flowing back from the later step [B,H]. Writes the
// pre-activation gradients for the input side (dgi, row stride dgi_ld) and the
// recurrent side (dgh [B,3H], whose n block is scaled by r), and dh_carry =
// the part of dL/dh_prev that does not go through W_hh (the caller adds
// dgh W_hh).
template <typename T>
DISTGRU_KERNEL void gru_step_backward(int64_t B, int64_t H, const T* dy, int64_t dy_ld, const T* dh_next,
                       const T* r_in, const T* z_in, const T* n_in, const T* hn_in,
                       const T* h_prev, T* dgi, int64_t dgi_ld, T* dgh, T* dh_carry) {
  for (int64_t b = 0; b < B; ++b) {
    const int64_t o = b * H;
    const T* dyb = dy + b * dy_ld;
    T* dgib = dgi + b * dgi_ld;
    T* dghb = dgh + b * 3 * H;
#pragma GCC ivdep
    for (int64_t j = 0; j < H; ++j) {
      const T r = r_in[o + j], z = z_in[o + j], n = n_in[o + j], hn = hn_in[o + j];
      const T dh = dyb[j] + dh_next[o + j];
      const T dn = dh * (T(1) - z);
      const T dz = dh * (h_prev[o + j] - n);
      const T dan = dn * (T(1) - n * n);
      const T daz = dz * z * (T(1) - z);
      const T dar = dan * hn * r * (T(1) - r);
      dgib[j] = dar;
      dgib[H + j] = daz;
      dgib[2 * H + j] = dan;
      dghb[j] = dar;
      dghb[H + j] = daz;
      dghb[2 * H + j] = dan * r;
      dh_carry[o + j] = dh * z;
    }
  }
}

}  // namespace distgru::model::kernels
