#include "train/runtime.h"

#include <gtest/gtest.h>

namespace distgru::train {
namespace {

TEST(BetterBlasCore, PreAvx2FallbacksAreReplacedByWhatTheCpuSupports) {
  // What OpenBLAS 0.3.21 does on a CPU model it does not know.
  EXPECT_EQ(better_blas_core("Prescott", true, true), "SkylakeX");
  EXPECT_EQ(better_blas_core("Prescott", false, true), "Haswell");
  EXPECT_EQ(better_blas_core("Sandybridge", false, true), "Haswell");
  EXPECT_EQ(better_blas_core("Core2", true, true), "SkylakeX");
}

TEST(BetterBlasCore, GoodOrUnfixableChoicesAreKept) {
  for (const char* good : {"Haswell", "SkylakeX", "Cooperlake", "SapphireRapids", "Zen"}) {
    EXPECT_EQ(better_blas_core(good, true, true), "") << good;
  }
  EXPECT_EQ(better_blas_core("Prescott", false, false), "");  // an old CPU: nothing better to ask for
}

TEST(BlasSummary, NamesTheBlasInUse) {
  const auto summary = blas_summary();
  EXPECT_TRUE(summary.rfind("OpenBLAS ", 0) == 0 || summary.rfind("BLAS: not OpenBLAS", 0) == 0) << summary;
}

}  // namespace
}  // namespace distgru::train
