#pragma once
// The model's Attend stage (attention_gru.h), states -> weights -> context:
//   hidden  = relu(states W1^T + b1)            [B, T, A]
//   scores  = hidden w2^T + b2, padding -> -1e9 [B, T]
//   weights = softmax over T of scores          [B, T]
//   context = sum over t of weights * states    [B, 2H]
// (the tutorial's attention: a one-layer MLP scores each step, as written
// op by op in attend_reference and in bench/pytorch_baseline.py).
//
// attend() runs it on the CPU review by review in one autograd function:
// a review's states (T x 2H floats, 256 KB at the tutorial's sizes) are read
// once forward and once backward while they sit in the core's L2 cache, and
// their gradient is written once. Op by op (attend_reference) the states
// (16.8 MB at one rank's batch of 64) are read by the first layer's product
// and again by the weighted sum, forward and backward, and the two
// gradients of the states are written separately and then added by
// autograd: six passes over the largest tensor after the GRU's gates.
// Products go through oneDNN (onednn_gemm.h), in fp32 or with bfloat16
// operands and float32 accumulation (bf16); the softmax, masks and the
// weighted sum stay float32.
//
// Elsewhere (CUDA, float64, a build without oneDNN, or fused = false) it is
// attend_reference: the same function of the same parameters, op by op.

#include <torch/torch.h>

#include "model/precision.h"

namespace distgru::model {

struct AttentionParameters {
  torch::Tensor w1;  // [A, 2H]  the MLP's first layer (attention_hidden.weight)
  torch::Tensor b1;  // [A]
  torch::Tensor w2;  // [1, A]   the score (attention_score.weight)
  torch::Tensor b2;  // [1]
};

struct Attended {
  torch::Tensor context;  // [B, 2H]
  torch::Tensor weights;  // [B, T], each row sums to 1
};

// states: [B, T, 2H]; padding: bool [B, T], true where the token is padding
// (its score becomes -1e9 before the softmax: a row of only padding gets
// uniform weights, not NaN), or undefined for no mask. Differentiable in
// states and the four parameters (context and weights both), which must
// have the states' dtype and device. fused: use the review-by-review
// function where it applies (float32 CPU tensors and oneDNN); fused = false
// is attend_reference, in float32 whatever precision says (the ATen path,
// --aten-gru). A fused bf16 must be one effective_precision (fast_gru.h)
// keeps. Throws distgru::Error on shapes, dtypes or devices that do not
// fit, and on bf16 where it cannot run.
Attended attend(const torch::Tensor& states, const torch::Tensor& padding, const AttentionParameters& p,
                Precision precision, bool fused = true);

// The same, op by op in ATen (any device and dtype, float32 products): the
// reference the fused function is tested against.
Attended attend_reference(const torch::Tensor& states, const torch::Tensor& padding,
                          const AttentionParameters& p);

}  // namespace distgru::model
