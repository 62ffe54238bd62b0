#include "common/native.h"

#include <dlfcn.h>

namespace distgru {

bool cpu_has_avx512() {
  __builtin_cpu_init();
  return __builtin_cpu_supports("avx512f") && __builtin_cpu_supports("avx512bw") &&
         __builtin_cpu_supports("avx512vl") && __builtin_cpu_supports("avx512dq");
}

bool cpu_has_avx2_fma() {
  __builtin_cpu_init();
  return __builtin_cpu_supports("avx2") && __builtin_cpu_supports("fma");
}

const char* openblas_corename() {
  using GetName = char* (*)();
  auto get = reinterpret_cast<GetName>(dlsym(RTLD_DEFAULT, "openblas_get_corename"));
  return get != nullptr ? get() : nullptr;
}

int openblas_threads() {
  using Get = int (*)();
  // Only with the setter: a count that cannot be changed is of no use here.
  auto get = reinterpret_cast<Get>(dlsym(RTLD_DEFAULT, "openblas_get_num_threads"));
  return get != nullptr && dlsym(RTLD_DEFAULT, "openblas_set_num_threads") != nullptr ? get() : 0;
}

void set_openblas_threads(int threads) {
  using Set = void (*)(int);
  if (auto set = reinterpret_cast<Set>(dlsym(RTLD_DEFAULT, "openblas_set_num_threads"))) set(threads);
}

}  // namespace distgru
