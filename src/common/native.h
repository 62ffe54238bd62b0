#pragma once
// What this process runs on, looked up at run time: the CPU's vector
// extensions, and the OpenBLAS behind LibTorch when it is OpenBLAS (LibTorch
// links its BLAS, chosen by Debian's alternatives; distgru does not). Shared
// by the GRU's kernel choice (model) and the BLAS kernel choice (train).

namespace distgru {

// AVX-512 F, BW, VL and DQ (Skylake-X and later), with the OS saving the
// registers (libgcc's checks include XGETBV).
bool cpu_has_avx512();
// AVX2 and FMA (Haswell and later).
bool cpu_has_avx2_fma();

// OpenBLAS's name for the kernels it loaded ("SkylakeX", "Prescott", ...), or
// nullptr when the BLAS in this process is not OpenBLAS.
const char* openblas_corename();

// OpenBLAS's own thread count (it ignores torch::set_num_threads), or 0 when
// the BLAS in this process is not OpenBLAS.
int openblas_threads();
// Sets it; does nothing when the BLAS in this process is not OpenBLAS.
void set_openblas_threads(int threads);

}  // namespace distgru
