#pragma once
// The fast GRU's matrix products (internal to model/): which library
// multiplies them, set by set_fast_gru_gemm (fast_gru.h), and the one call
// the GRU's passes make for every product.

#include <torch/torch.h>

#include <optional>

#include "model/onednn_gemm.h"

namespace distgru::model {

// out[m,n] = a[m,k] b[k,n] (+ out when accumulate). bfloat16 operands (the
// bf16 precision) and float ones in oneDNN mode go to oneDNN (any row- or
// column-major operands, model/onednn_gemm.h); float in small blocks mode
// to CBLAS blocks when a and out are row-major (any row stride); the rest
// (float64: tests and gradient checks; a column-major a in small blocks
// mode) through ATen. out: float for
// bfloat16 operands, else their type.
void gru_product(const torch::Tensor& a, const torch::Tensor& b, torch::Tensor& out, bool accumulate);

// The recurrence's product, out = a b (+ out when accumulate), with one b
// for a whole pass (W_hh or its transpose: T calls per direction). a comes
// as raw rows, so that no tensor view is made per step; in oneDNN mode and
// in bf16, b is packed once (PackedProduct, onednn_gemm.h), otherwise each
// call is gru_product's. b: contiguous [k, n] (bfloat16 in bf16), kept by
// reference: it must not change while this lives. a: [m, k] of b's dtype,
// row-major, row stride lda. out: contiguous [m, n], float (b's dtype in
// float64).
class StepProduct {
 public:
  StepProduct(const torch::Tensor& b, int64_t m, int64_t lda, bool accumulate);
  // One thread at a time (PackedProduct::multiply).
  void operator()(const void* a, torch::Tensor& out);

 private:
  torch::Tensor b_;
  int64_t m_, lda_;
  bool accumulate_;
  std::optional<PackedProduct> packed_;
};

}  // namespace distgru::model
