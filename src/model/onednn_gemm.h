#pragma once
// Matrix products through oneDNN's matmul primitive, for the fast GRU
// (fast_gru.h). oneDNN is the library LibTorch itself links (Debian's
// libdnnl2); its "brgemm" kernels beat OpenBLAS 0.3.21 on the GRU's shapes
// in float32 and, on CPUs with AVX512_BF16 or AMX, multiply bfloat16 at
// about twice the float32 rate. Measured on an AMD EPYC (AVX-512,
// AVX512_BF16), one thread, 512 products [64x128]x[128x384]: OpenBLAS 96,
// oneDNN fp32 115, oneDNN bf16 210 GFLOP/s (bench/run.sh's gemm suite prints
// these for the machine it runs on).
//
// Primitives are made once per shape and thread and kept (a thread-local
// cache): the GRU runs the same few shapes thousands of times a step.
// Results are deterministic for a given shape and thread count.

#include <torch/torch.h>

#include <cstdint>
#include <memory>
#include <string>

namespace distgru::model {

enum class GemmInput { kFloat32, kBFloat16 };

// C[m,n] = A[m,k] B[k,n] (+ C when accumulate), all row-major with the given
// row strides (elements). A transposed: A is stored as [k,m] (lda its row
// stride); likewise B as [n,k].
struct GemmShape {
  int64_t m = 0, n = 0, k = 0;
  bool a_transposed = false;
  bool b_transposed = false;
  int64_t lda = 0, ldb = 0, ldc = 0;
  bool accumulate = false;
  GemmInput input = GemmInput::kFloat32;  // A and B; C is always float32
};

// Whether distgru was built with oneDNN (CMake found Debian's libdnnl-dev).
bool onednn_available();

// Whether this CPU multiplies bfloat16 natively (oneDNN's ISA is
// avx512_core_bf16 or an AMX one); without it bf16 would be emulated,
// slower than float32, so callers fall back to float32.
bool onednn_native_bf16();

// oneDNN's name for the instruction set it uses here, e.g. "avx512_core_bf16";
// "none" when built without oneDNN.
std::string onednn_isa();

// A and B are float (kFloat32) or bfloat16 bits (uint16_t, kBFloat16); C is
// float. Runs on oneDNN's threads (OpenMP: one inside a parallel region).
// Throws distgru::Error when built without oneDNN or oneDNN refuses the
// shape or type (bf16 on a CPU without AVX-512).
void onednn_gemm(const GemmShape& shape, const void* a, const void* b, float* c);

// A product whose B stays the same for many calls (the GRU's W_hh: 2T
// products a pass), with B reordered once into the blocked layout oneDNN's
// kernels read, so that no call packs it again. Measured (AMD EPYC, one
// thread, hot cache), the per-step products [64x128]x[128x384] and
// [64x384]x[384x128]: bf16 205 -> 220-226 GFLOP/s, fp32 107-110 either way.
// `shape` as onednn_gemm's, b_transposed false (b [k, n] row-major, row
// stride shape.ldb), copied at construction: later changes to b are not
// seen. Throws as onednn_gemm.
class PackedProduct {
 public:
  PackedProduct(const GemmShape& shape, const void* b);
  ~PackedProduct();
  PackedProduct(PackedProduct&&) noexcept;
  PackedProduct& operator=(PackedProduct&&) noexcept;
  // c[m, n] = a[m, k] b (+ c when shape.accumulate); a and c as onednn_gemm's.
  // One thread at a time (it sets the data handles of its oneDNN memory
  // objects); not on a moved-from object.
  void multiply(const void* a, float* c);

 private:
  struct Impl;
  std::unique_ptr<Impl> impl_;
};

// float32 -> bfloat16 bits, rounding to nearest even (NaN stays NaN): rows
// of cols values, row strides ld_in and ld_out.
void to_bfloat16(const float* in, int64_t ld_in, uint16_t* out, int64_t ld_out, int64_t rows,
                 int64_t cols);

// The same product on tensors, the form the GRU, the dense layer and the
// bench use: out[m,n] = a[m,k] b[k,n] (+ out when accumulate). a and b are
// 2-D, both float or both bfloat16, each row-major or column-major (a
// transposed view such as w.t()) with any leading stride; out is float with
// unit column stride. Throws distgru::Error naming the problem otherwise,
// and as onednn_gemm.
void onednn_product(const torch::Tensor& a, const torch::Tensor& b, torch::Tensor& out,
                    bool accumulate = false);

// bfloat16 copy of a float tensor (any shape; made contiguous first),
// rounding as to_bfloat16.
torch::Tensor bfloat16_copy(const torch::Tensor& t);

}  // namespace distgru::model
