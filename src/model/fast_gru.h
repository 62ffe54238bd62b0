#pragma once
// A hand-written bidirectional GRU for CPU tensors, forward and backward, as one
// torch::autograd::Function. ATen's GRU runs each time step as a handful of
// autograd ops, so its backward is thousands of tiny kernels; here a step is
// one small GEMM plus one fused loop over the gates, and everything that can be
// batched over time is a GEMM over blocks of 8 steps, made just before
// (forward) or after (backward) the recurrence walks them, while their
// operands are in cache:
//   forward:  each direction's input projection, block by block [8B,E] x [E,3H]
//   backward: input gradient, W_ih and W_hh gradients per direction, block
//             by block (the weight gradients accumulated over the blocks)
// With more than one intra-op thread the two directions run in parallel.
//
// Semantics are PyTorch's exactly (gate order r, z, n; linear-before-reset,
// n = tanh(W_in x + b_in + r * (W_hn h + b_hn)); h0 = 0), so the parameters are
// those of torch::nn::GRU(E, H, batch_first, bidirectional) and checkpoints
// move freely between the two. Deterministic for a given input and thread
// count. Float32 uses a vectorisable exp (relative error ~1e-7); float64 uses
// the C library's, so gradients can be checked tightly against ATen's GRU.

#include <torch/torch.h>

#include <optional>
#include <string>

#include "model/precision.h"

namespace distgru::model {

// One direction's parameters, in torch::nn::GRU's layout.
struct GRUDirectionWeights {
  torch::Tensor w_ih;  // [3H, E]
  torch::Tensor w_hh;  // [3H, H]
  torch::Tensor b_ih;  // [3H]
  torch::Tensor b_hh;  // [3H]
};

// x: [B, T, E] batch-first, float32 or float64, on the CPU, with the weights of
// the same dtype. Returns [B, T, 2H]: the forward direction's states, then the
// reverse direction's (as torch::nn::GRU's output). Differentiable in x and
// every weight. precision bf16 (float32 only, and only where
// effective_precision keeps it) multiplies bfloat16 copies of the operands
// with float32 accumulation; the gate arithmetic and states stay float32.
torch::Tensor fast_bidirectional_gru(const torch::Tensor& x, const GRUDirectionWeights& forward,
                                     const GRUDirectionWeights& reverse,
                                     Precision precision = Precision::kFloat32);

// The same GRU over x[b, t] = rows[index[b, t]]: rows [U, E] (each distinct
// input vector once: the embedded words of a batch), index [B, T] int64 on
// the CPU, every entry in [0, U) (else std::runtime_error). Returns [B, T,
// 2H] as fast_bidirectional_gru of the gathered input does, up to rounding
// (sums in another order); differentiable in rows and every weight. The
// products of the input side, linear in x, run on U rows instead of B*T:
// 64 IMDB reviews of 256 tokens hold about 2,700 distinct words, so they
// shrink about sixfold (gru_passes.h). Throws as fast_bidirectional_gru.
torch::Tensor fast_bidirectional_gru_rows(const torch::Tensor& rows, const torch::Tensor& index,
                                          const GRUDirectionWeights& forward,
                                          const GRUDirectionWeights& reverse,
                                          Precision precision = Precision::kFloat32);

// The precision this process can run for `requested`: bf16 falls back to
// fp32 where distgru has no oneDNN or the CPU has neither AVX512_BF16 nor AMX
// (emulated bf16 is slower than fp32); *why then says so, for the log.
Precision effective_precision(Precision requested, std::string* why = nullptr);

// The instruction set of the float32 gate kernels this CPU runs: "AVX-512",
// "AVX2" or "baseline" (chosen once from the CPU's feature bits).
const char* fast_gru_kernels();

// How float32 runs its products: all through ATen (its BLAS), through ATen
// with the per-step products and the input projection cut into small CBLAS
// blocks (model/step_gemm.h), or all through oneDNN's matmul
// (model/onednn_gemm.h). Chosen once per process: oneDNN when distgru has
// it (bench/run.sh's gru suite measures the three), else small blocks where
// the BLAS has kernels for them. Tests set it to cover each. bf16 always
// runs on oneDNN.
enum class GruGemm { kWhole, kSmallBlocks, kOneDnn };
GruGemm fast_gru_gemm();
void set_fast_gru_gemm(GruGemm mode);

// For the logs: "fast GRU: AVX-512 gate kernels, fp32 products through
// oneDNN (avx512_core_bf16)"; without a precision (the process's first line
// and provenance, written before a run's precision is known) the kernels
// and library only: "..., products through oneDNN (avx512_core_bf16)".
std::string fast_gru_summary(std::optional<Precision> precision = std::nullopt);

}  // namespace distgru::model
