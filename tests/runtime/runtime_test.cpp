#include "runtime/blas_kernels.h"
#include "runtime/process_settings.h"

#include <gtest/gtest.h>

#include <ATen/Context.h>

#include <thread>

namespace distgru::runtime {
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

#if defined(__SSE__)
// A float product below 1.2e-38 comes out as 0, in this thread and in one
// started afterwards (as LibTorch's pools are), and a denormal input reads as 0.
TEST(Denormals, FlushedToZeroInThisThreadAndTheNextOnes) {
  ASSERT_TRUE(configure_denormals());
  EXPECT_TRUE(flushes_denormals());
  auto underflows = [] {
    volatile float small = 1e-30f, factor = 1e-15f;
    return small * factor;
  };
  auto denormal_in = [] {
    volatile float tiny = 1e-40f, one = 1.0f;  // a denormal constant
    return tiny * one;
  };
  EXPECT_EQ(underflows(), 0.0f);
  EXPECT_EQ(denormal_in(), 0.0f);
  float in_thread = -1.0f;
  bool thread_flushes = false;
  std::thread t([&] {
    in_thread = underflows();
    thread_flushes = flushes_denormals();
  });
  t.join();
  EXPECT_EQ(in_thread, 0.0f);
  EXPECT_TRUE(thread_flushes);

  // And the default, for contrast: the same product is a denormal.
  at::globalContext().setFlushDenormal(false);
  EXPECT_FALSE(flushes_denormals());
  EXPECT_GT(underflows(), 0.0f);
  configure_denormals();
}
#endif

}  // namespace
}  // namespace distgru::runtime
