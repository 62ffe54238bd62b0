#include "runtime/blas_kernels.h"

#include <unistd.h>

#include <cstdlib>
#include <set>

#include "common/native.h"

namespace distgru::runtime {
namespace {
// Set beside OPENBLAS_CORETYPE before the re-exec, so the new image can say
// what OpenBLAS had detected.
constexpr const char* kDetectedVar = "DISTGRU_OPENBLAS_DETECTED";
}  // namespace

std::string better_blas_core(const std::string& detected, bool avx512, bool avx2_fma) {
  // OpenBLAS's names for kernel families without AVX2 (x86-64).
  static const std::set<std::string> kPreAvx2 = {
      "Unknown", "Katmai", "Coppermine", "Northwood", "Prescott", "Banias", "Atom", "Core2",
      "Penryn", "Dunnington", "Nehalem", "Sandybridge", "Opteron", "Opteron(SSE3)", "Barcelona",
      "Nano", "Bobcat", "Bulldozer", "Piledriver", "Steamroller", "Excavator", "Athlon"};
  if (kPreAvx2.count(detected) == 0) return "";
  if (avx512) return "SkylakeX";
  if (avx2_fma) return "Haswell";
  return "";
}

void use_best_blas_kernels(char** argv) {
  if (std::getenv("OPENBLAS_CORETYPE") != nullptr) return;  // the user's choice, or done already
  const char* detected = openblas_corename();
  if (detected == nullptr) return;  // not OpenBLAS
  const std::string want = better_blas_core(detected, cpu_has_avx512(), cpu_has_avx2_fma());
  if (want.empty()) return;
  setenv("OPENBLAS_CORETYPE", want.c_str(), 1);
  setenv(kDetectedVar, detected, 1);
  execv("/proc/self/exe", argv);
  // exec failed (no /proc?): carry on with the detected kernels, slower but correct.
  unsetenv("OPENBLAS_CORETYPE");
  unsetenv(kDetectedVar);
}

std::string blas_summary() {
  const char* core = openblas_corename();
  if (core == nullptr) return "BLAS: not OpenBLAS (LibTorch's own choice)";
  std::string out = std::string("OpenBLAS ") + core + " kernels";
  if (const char* detected = std::getenv(kDetectedVar)) {
    out += std::string(" (it detected ") + detected + " on this CPU; OPENBLAS_CORETYPE set by distgru)";
  } else if (std::getenv("OPENBLAS_CORETYPE") != nullptr) {
    out += " (OPENBLAS_CORETYPE)";
  }
  return out;
}

}  // namespace distgru::runtime
