#pragma once
// The fast GRU's two passes over time, for fast_gru.cpp's autograd function
// (fast_gru.h states the design and its measurements). Internal to
// src/model: shapes are the function's own, time-major unless stated, and
// nothing here checks them; fast_bidirectional_gru does, once.
// run_forward, run_backward and sum_directions_batch_first are defined for
// T = float and double.

#include <torch/torch.h>

#include <array>
#include <cstdint>

#include "model/fast_gru.h"

namespace distgru::model::gru_passes {

using torch::Tensor;

constexpr int kGateSlots = 4;  // r, z, n, hn kept per step for backward

// The input side comes in one of two forms. Dense (index undefined): x1 is
// [T*B, E+1], the time-major input with a ones column. Rows (index
// defined): x1 is [U, E+1], each distinct input row once with a ones
// column, and index is [B, T] int64, x[b, t] = x1[index[b, t]], every entry
// in [0, U) (the caller checks). A batch of reviews holds far fewer
// distinct words than positions (about 2,700 in the 16,384 of 64 IMDB
// reviews of 256 tokens), so the products of the input side, which are
// linear in x, run on U rows instead of T*B: forward, each row's projection
// once, gathered into the blocks; backward, dgi summed per row (a scatter
// in b order, deterministic), then one product for W_ih's gradient and one
// for the rows' gradient.

// The input side of each direction is multiplied in blocks of kBlockSteps
// steps, just before (forward) or just after (backward) the recurrence walks
// them: the block's gi (forward) and dgi, dgh (backward) are made and used
// while they sit in cache, instead of T*B*6H floats (50 MB at one rank's
// batch 64) written to memory by one large product and read back by the
// step kernels (forward) or by the large gradient products (backward). x
// (x1 below) is time-major, so a block's input rows lie together; dy and the
// output ([B, T, 2H]) stay batch-first, as the model has them. The GRU
// alone (batch 64, one thread, AMD EPYC), forward / backward ms: fp32 70.3 /
// 132.5 -> 64.0 / 123.3, bf16 46.5 / 82.2 -> 39.9 / 75.0; blocks of 4 or 16
// steps were 1-2% slower in fp32.
constexpr int64_t kBlockSteps = 8;

// x1, index: the input side (above). Writes gates [2, T, kGateSlots, B, H] (the r, z, n gates and W_hn h + b_hn
// of every step, for backward), states [2, T+1, B, H] (whose row 0, h0, the
// caller zeroes) and out [B, T, 2H] (the forward direction's states in
// columns [0, H), the reverse's in [H, 2H)). Reads x1 (bfloat16 in bf16);
// w_ih_t[d]: [E, 3H]
// (a transposed view; bfloat16 in bf16); w's W_hh and biases. states_bf16:
// undefined in float32; in bf16, [2, T+1, B, H] bfloat16 copies of the
// states (row 0 zero), the per-step products' left operand, kept for
// backward's W_hh gradient.
template <typename T>
void run_forward(const Tensor& x1, const Tensor& index, const std::array<Tensor, 2>& w_ih_t,
                 const std::array<GRUDirectionWeights, 2>& w, Tensor& gates, Tensor& states,
                 Tensor& out, const Tensor& states_bf16);

// The gradients backward makes, per direction d: dx[d] the input's through
// this direction ([T*B, E_pad], time-major, or [U, E_pad] with rows; E of
// E_pad = padded_width(E) columns used; the caller adds the two), dw_ih1[d]
// = x1^T dgi ([E+1, 3H]: W_ih's gradient transposed, then b_ih's as the
// last row, from x1's ones column), dw_hh[d] = h_prev^T dgh ([H, 3H], W_hh's
// transposed) and db_hn[d] ([H], the n gate's b_hh gradient, the sum of
// dgh's n columns). The weight gradients are made transposed: the long sum
// over B*T rows then runs with 3H output columns instead of E+1, which
// oneDNN multiplies faster (99 against 76 GFLOP/s in fp32, 183 against 159
// in bf16; AMD EPYC, one thread).
struct GruGrads {
  Tensor dx, dw_ih1, dw_hh, db_hn;  // leading dimension 2: the direction
};

// x1, index: the input side, as forward had it. w_ih[d]: [3H, E_pad], zero-padded (bfloat16 in bf16); w_hh[d]: [3H, H] (bfloat16 in bf16);
// states_bf16 as run_forward's. The step kernel writes each step's dgi and
// dgh in float into the block buffers (in bf16, into one step's float rows
// that are copied to bfloat16 block rows at once); every kBlockSteps steps
// the block's dgi and dgh go through the gradient products while in cache.
template <typename T>
void run_backward(const Tensor& dy, const Tensor& x1, const Tensor& index, const std::array<Tensor, 2>& w_ih,
                  const std::array<Tensor, 2>& w_hh, const Tensor& gates, const Tensor& states,
                  const Tensor& states_bf16, bool need_dx, GruGrads& grads);

// The input's gradient has E columns (the embedding's width, 100 for the
// tutorial), which the dx products make as dgi [rows, 3H] x W_ih [3H, E]: a
// width that is not a whole number of AVX-512 vectors leaves oneDNN a
// masked tail in every row. Padded with zero columns of W_ih to a multiple
// of 16 they run as full vectors: [512 x 384] x [384 x 100] at 93 GFLOP/s,
// x [384 x 112] at 111 (AMD EPYC, one thread, hot cache).
int64_t padded_width(int64_t E);

// dx: [2, T*B, ld] (per direction, time-major, E of ld columns used) ->
// [B, T, E], the two directions' sum in the layout the embedding's backward
// reads: one pass, where an add and then the embedding's transposing copy
// made two.
template <typename T>
Tensor sum_directions_batch_first(const Tensor& dx, int64_t steps, int64_t B, int64_t E);

}  // namespace distgru::model::gru_passes
