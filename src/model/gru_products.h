#pragma once
// The fast GRU's matrix products (internal to model/): which library
// multiplies them, set by set_fast_gru_gemm (fast_gru.h), and the one call
// the GRU's passes make for every product.

#include <torch/torch.h>

namespace distgru::model {

// out[m,n] = a[m,k] b[k,n] (+ out when accumulate). bfloat16 operands (the
// bf16 precision) and float ones in oneDNN mode go to oneDNN (any row- or
// column-major operands, model/onednn_gemm.h); float in small blocks mode
// to CBLAS blocks when a and out are row-major (any row stride); the rest
// (float64: tests and gradient checks; a column-major a in small blocks
// mode) through ATen. out: float for
// bfloat16 operands, else their type.
void gru_product(const torch::Tensor& a, const torch::Tensor& b, torch::Tensor& out, bool accumulate);

}  // namespace distgru::model
