#pragma once
// The fast GRU's per-step products, [B,H]x[H,3H] forward and [B,3H]x[3H,H]
// backward (64x128x384 at one rank's batch of 64), run 512 times each per
// training step. OpenBLAS spends a fifth of such a product packing W_hh, again
// at every step. Its AVX-512 build (SkylakeX and newer) also has kernels for
// small products that skip packing, used when m*n*k <= 1e6 (OpenBLAS
// 0.3.21, sgemm_small_kernel_permit_skylakex.c). Cut into blocks of 32 rows
// and half the columns, each block qualifies: measured on this project's
// machine, 512 steps in 19 ms instead of 25, forward and backward alike.
// Other kernels get slower when cut (Haswell's: 15%), so the choice follows
// the BLAS in use, once per process, and so do the results' last bits.

#include <cstdint>

namespace distgru::model {

struct GemmBlocks {
  int64_t rows = 0;  // rows of C per block
  int64_t cols = 0;  // columns of C per block
};

// Blocks of at most 32 rows, the columns halved (while they stay whole
// multiples of 16) until each block's rows * cols * k is at most max_mnk.
GemmBlocks small_gemm_blocks(int64_t m, int64_t n, int64_t k, int64_t max_mnk = 1000000);

// True when the BLAS in use runs small products without packing: OpenBLAS
// with SkylakeX-family kernels, and cblas_sgemm reachable.
bool blas_has_small_gemm_kernels();

// Whether this process's BLAS exports cblas_sgemm, which blocked_gemm needs.
bool blocked_gemm_available();

// Row-major C[m,n] = A[m,k] B[k,n] + beta C (leading dimensions lda, ldb,
// ldc), one cblas_sgemm per block. Throws when no cblas_sgemm is loaded.
void blocked_gemm(int64_t m, int64_t n, int64_t k, const float* a, int64_t lda, const float* b,
                  int64_t ldb, float beta, float* c, int64_t ldc, GemmBlocks blocks);

}  // namespace distgru::model
