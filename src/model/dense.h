#pragma once
// A fully connected layer, y = x W^T + b, whose products run through oneDNN
// (onednn_gemm.h) on the CPU, in fp32 or with bfloat16 operands and float32
// accumulation (--precision bf16): the attention MLP's first layer, the
// model's largest product after the GRU's ([B*T, 2H] x [2H, A]: 16384 x 256
// x 32 at one rank's batch). Measured on the AMD EPYC kind, one thread,
// forward + both gradients: ATen (OpenBLAS) 12.0 ms, oneDNN fp32 10.5,
// oneDNN bf16 5.4 (bench/results-*.json's "GEMM shapes" table has the GRU's).
// Elsewhere (CUDA, float64, a build without oneDNN) it is torch::linear.

#include <torch/torch.h>

#include "model/precision.h"

namespace distgru::model {

// x: [N, in] (or [..., in]: leading dimensions are flattened and restored),
// weight: [out, in], bias: [out]; all of one dtype and device. Returns
// [..., out], differentiable in all three. precision bf16 must be one
// effective_precision (fast_gru.h) keeps.
torch::Tensor dense(const torch::Tensor& x, const torch::Tensor& weight, const torch::Tensor& bias,
                    Precision precision);

}  // namespace distgru::model
