#include "model/step_gemm.h"

#include <dlfcn.h>
#include <strings.h>

#include <algorithm>

#include "common/error.h"
#include "common/native.h"

namespace distgru::model {
namespace {

// CBLAS's enum values (cblas.h), which every CBLAS shares.
constexpr int kRowMajor = 101;
constexpr int kNoTrans = 111;

using Sgemm = void (*)(int layout, int trans_a, int trans_b, int m, int n, int k, float alpha,
                       const float* a, int lda, const float* b, int ldb, float beta, float* c,
                       int ldc);

// Looked up at run time: LibTorch links its BLAS, not us, and a LibTorch
// with MKL inside (pip wheels) exports none.
Sgemm find_sgemm() {
  static const Sgemm fn = reinterpret_cast<Sgemm>(dlsym(RTLD_DEFAULT, "cblas_sgemm"));
  return fn;
}

}  // namespace

GemmBlocks small_gemm_blocks(int64_t m, int64_t n, int64_t k, int64_t max_mnk) {
  GemmBlocks blocks{std::min<int64_t>(m, 32), n};
  while (blocks.rows * blocks.cols * k > max_mnk && blocks.cols % 32 == 0) blocks.cols /= 2;
  return blocks;
}

bool blas_has_small_gemm_kernels() {
  const char* core = openblas_corename();
  if (core == nullptr || !blocked_gemm_available()) return false;
  for (const char* name : {"SkylakeX", "Cooperlake", "SapphireRapids"}) {
    if (strcasecmp(core, name) == 0) return true;
  }
  return false;
}

bool blocked_gemm_available() { return find_sgemm() != nullptr; }

void blocked_gemm(int64_t m, int64_t n, int64_t k, const float* a, int64_t lda, const float* b,
                  int64_t ldb, float beta, float* c, int64_t ldc, GemmBlocks blocks) {
  const Sgemm sgemm = find_sgemm();
  DISTGRU_CHECK(sgemm != nullptr, "blocked_gemm: no cblas_sgemm in this process's BLAS");
  DISTGRU_CHECK(blocks.rows > 0 && blocks.cols > 0, "blocked_gemm: empty blocks");
  for (int64_t i = 0; i < m; i += blocks.rows) {
    const int64_t rows = std::min(blocks.rows, m - i);
    for (int64_t j = 0; j < n; j += blocks.cols) {
      const int64_t cols = std::min(blocks.cols, n - j);
      sgemm(kRowMajor, kNoTrans, kNoTrans, static_cast<int>(rows), static_cast<int>(cols),
            static_cast<int>(k), 1.0f, a + i * lda, static_cast<int>(lda), b + j,
            static_cast<int>(ldb), beta, c + i * ldc + j, static_cast<int>(ldc));
    }
  }
}

}  // namespace distgru::model
