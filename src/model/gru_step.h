#pragma once
// One time step of the fast GRU's gate arithmetic (the loops of
// gru_kernels.h), for B rows of H units of one direction. Float is built once
// per instruction set and runs the widest the CPU has (AVX-512, AVX2,
// baseline), chosen once from its feature bits; float64 (tests, gradient
// checks) runs the baseline build. Defined for float and double.

#include <cstdint>

namespace distgru::model {

// gi: input projection rows (no bias, row stride gi_ld), gh = h_prev W_hh^T
// [B,3H] (no bias). Writes r, z, n, hn (kept for backward) and h, all [B,H],
// and h again into y (row stride y_ld).
template <typename T>
void step_forward(int64_t B, int64_t H, const T* gi, int64_t gi_ld, const T* gh, const T* b_ih,
                  const T* b_hh, const T* h_prev, T* r, T* z, T* n, T* hn, T* h, T* y, int64_t y_ld);

// dy: this step's output gradient (row stride dy_ld); dh_next: the gradient
// from the later step. Writes dgi (row stride dgi_ld), dgh [B,3H] and carry,
// the part of dL/dh_prev that does not go through W_hh.
template <typename T>
void step_backward(int64_t B, int64_t H, const T* dy, int64_t dy_ld, const T* dh_next, const T* r,
                   const T* z, const T* n, const T* hn, const T* h_prev, T* dgi, int64_t dgi_ld,
                   T* dgh, T* carry);

// The instruction set float runs: "AVX-512", "AVX2" or "baseline".
const char* gru_step_isa();

}  // namespace distgru::model
