#include "runtime/blas_kernels.h"
#include "runtime/process_settings.h"

#include <gtest/gtest.h>

#include <ATen/Context.h>
#include <malloc.h>

#include <cstdio>
#include <cstdlib>
#include <string>
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

// A block larger than glibc's largest dynamic mmap threshold (32 MiB), so that
// by default it would be mmapped, and on free handed back to the kernel.
constexpr size_t kLargeBlock = size_t{64} << 20;

TEST(Allocator, LargeBlocksComeFromTheHeapAndStayMappedAfterFree) {
  if (std::getenv("GLIBC_TUNABLES") != nullptr) GTEST_SKIP() << "GLIBC_TUNABLES set: the user's allocator wins";
  configure_allocator();
  const size_t mmapped_before = mallinfo2().hblkhd;
  void* block = std::malloc(kLargeBlock);
  ASSERT_NE(block, nullptr);
  static_cast<volatile char*>(block)[kLargeBlock - 1] = 1;
  EXPECT_EQ(mallinfo2().hblkhd, mmapped_before) << "the block was mmapped";
  std::free(block);
  EXPECT_GE(mallinfo2().arena, kLargeBlock) << "the heap was trimmed after free";
}

// The bench gives PyTorch distgru's allocator through GLIBC_TUNABLES: the
// string must give another process the same behaviour. Python's ctypes reads
// glibc's mallinfo2 in a child process, with and without the string.
std::string child_malloc_report(const std::string& tunables) {
  const std::string script =
      "import ctypes\n"
      "class MI(ctypes.Structure):\n"
      "    _fields_ = [(n, ctypes.c_size_t) for n in 'arena ordblks smblks hblks hblkhd usmblks fsmblks uordblks fordblks keepcost'.split()]\n"
      "libc = ctypes.CDLL('libc.so.6')\n"
      "libc.mallinfo2.restype = MI\n"
      "libc.malloc.restype = ctypes.c_void_p\n"
      "libc.free.argtypes = [ctypes.c_void_p]\n"
      "p = libc.malloc(" + std::to_string(kLargeBlock) + ")\n"
      "mmapped = libc.mallinfo2().hblkhd\n"
      "libc.free(p)\n"
      "print('mmapped' if mmapped else 'heap', 'kept' if libc.mallinfo2().arena >= " + std::to_string(kLargeBlock) + " else 'trimmed')\n";
  const std::string command = (tunables.empty() ? "env -u GLIBC_TUNABLES" : "env GLIBC_TUNABLES='" + tunables + "'") +
                              " /usr/bin/python3 -c \"" + script + "\" 2>&1";
  FILE* pipe = popen(command.c_str(), "r");
  if (pipe == nullptr) return "popen failed";
  std::string out;
  char buffer[256];
  while (std::fgets(buffer, sizeof buffer, pipe) != nullptr) out += buffer;
  pclose(pipe);
  return out;
}

TEST(Allocator, TunablesGiveAnotherProcessTheSameAllocator) {
  if (std::getenv("GLIBC_TUNABLES") != nullptr) GTEST_SKIP() << "GLIBC_TUNABLES set: the user's allocator wins";
  configure_allocator();
  const std::string tunables = allocator_tunables();
  EXPECT_NE(tunables.find("glibc.malloc.mmap_max=0"), std::string::npos) << tunables;
  EXPECT_EQ(child_malloc_report(tunables), "heap kept\n");
  // Without them, for contrast: glibc's default mmaps the block.
  EXPECT_EQ(child_malloc_report(""), "mmapped trimmed\n");
}

}  // namespace
}  // namespace distgru::runtime
