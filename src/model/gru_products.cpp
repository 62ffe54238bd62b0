#include "model/gru_products.h"

#include <atomic>

#include "common/error.h"
#include "model/fast_gru.h"
#include "model/onednn_gemm.h"
#include "model/step_gemm.h"

namespace distgru::model {
namespace {

GruGemm default_gemm() {
  if (onednn_available()) return GruGemm::kOneDnn;
  return blas_has_small_gemm_kernels() ? GruGemm::kSmallBlocks : GruGemm::kWhole;
}

std::atomic<GruGemm>& gemm_mode() {
  static std::atomic<GruGemm> mode{default_gemm()};
  return mode;
}

// Whether products of this operand type go to oneDNN: always in bfloat16
// (the bf16 precision), and in float in oneDNN mode.
bool through_onednn(torch::ScalarType type) {
  return type == torch::kBFloat16 ||
         (type == torch::kFloat && gemm_mode().load(std::memory_order_relaxed) == GruGemm::kOneDnn);
}

}  // namespace

void gru_product(const torch::Tensor& a, const torch::Tensor& b, torch::Tensor& out, bool accumulate) {
  if (through_onednn(a.scalar_type())) {
    onednn_product(a, b, out, accumulate);
    return;
  }
  const GruGemm mode = gemm_mode().load(std::memory_order_relaxed);
  if (a.scalar_type() == torch::kFloat && mode == GruGemm::kSmallBlocks && a.stride(1) == 1 &&
      out.stride(1) == 1) {
    const auto bc = b.contiguous();
    const int64_t m = a.size(0), k = a.size(1), n = b.size(1);
    blocked_gemm(m, n, k, a.data_ptr<float>(), a.stride(0), bc.data_ptr<float>(), n,
                 accumulate ? 1.0f : 0.0f, out.data_ptr<float>(), out.stride(0),
                 small_gemm_blocks(m, n, k));
    return;
  }
  if (accumulate) {
    out.addmm_(a, b);
  } else {
    at::mm_out(out, a, b);
  }
}

StepProduct::StepProduct(const torch::Tensor& b, int64_t m, int64_t lda, bool accumulate)
    : b_(b), m_(m), lda_(lda), accumulate_(accumulate) {
  DISTGRU_CHECK(b.dim() == 2 && b.is_contiguous(), "StepProduct: b must be a contiguous [k, n] tensor");
  if (through_onednn(b.scalar_type())) {
    GemmShape s;
    s.m = m;
    s.k = b.size(0);
    s.n = b.size(1);
    s.lda = lda;
    s.ldb = s.n;
    s.ldc = s.n;
    s.accumulate = accumulate;
    s.input = b.scalar_type() == torch::kBFloat16 ? GemmInput::kBFloat16 : GemmInput::kFloat32;
    packed_.emplace(s, b.data_ptr());
  }
}

void StepProduct::operator()(const void* a, torch::Tensor& out) {
  if (packed_) {
    packed_->multiply(a, out.data_ptr<float>());
    return;
  }
  const auto rows = torch::from_blob(const_cast<void*>(a), {m_, b_.size(0)}, {lda_, 1}, b_.options());
  gru_product(rows, b_, out, accumulate_);
}

// fast_gru.h's mode and precision choices, made here beside the products.
GruGemm fast_gru_gemm() { return gemm_mode().load(); }

void set_fast_gru_gemm(GruGemm mode) {
  DISTGRU_CHECK(mode != GruGemm::kSmallBlocks || blocked_gemm_available(),
                "fast_gru: small blocks need cblas_sgemm in this process's BLAS");
  DISTGRU_CHECK(mode != GruGemm::kOneDnn || onednn_available(),
                "fast_gru: distgru was built without oneDNN (install libdnnl-dev and rebuild)");
  gemm_mode().store(mode);
}

Precision effective_precision(Precision requested, std::string* why) {
  if (requested != Precision::kBFloat16) return requested;
  if (!onednn_available()) {
    if (why) *why = "bf16 needs oneDNN, and distgru was built without it (libdnnl-dev); running fp32";
    return Precision::kFloat32;
  }
  if (!onednn_native_bf16()) {
    if (why) {
      *why = "this CPU has neither AVX512_BF16 nor AMX (oneDNN's ISA here: " + onednn_isa() +
             "), where bf16 products would be slower than fp32; running fp32";
    }
    return Precision::kFloat32;
  }
  return requested;
}

}  // namespace distgru::model
