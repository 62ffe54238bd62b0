#include "model/onednn_gemm.h"

#include <algorithm>
#include <cstring>
#if defined(__x86_64__)
#include <immintrin.h>
#endif
#include <tuple>
#include <unordered_map>

#include "common/error.h"

#ifdef DISTGRU_HAVE_ONEDNN
#include <oneapi/dnnl/dnnl.hpp>
#endif

namespace distgru::model {

namespace {

// The bit trick of every bfloat16 converter (PyTorch's c10::BFloat16,
// oneDNN's): add 0x7FFF plus the lowest kept bit, keep the top half; a NaN
// keeps a set mantissa bit.
void to_bfloat16_portable(const float* src, uint16_t* dst, int64_t n) {
  for (int64_t j = 0; j < n; ++j) {
    uint32_t u;
    std::memcpy(&u, &src[j], sizeof u);
    const uint32_t rounded = (u + 0x7FFFu + ((u >> 16) & 1u)) >> 16;
    const bool nan = (u & 0x7FFFFFFFu) > 0x7F800000u;
    dst[j] = static_cast<uint16_t>(nan ? ((u >> 16) | 0x40u) : rounded);
  }
}

#if defined(__x86_64__)
// AVX512_BF16's conversion instruction, 16 values at a time (the bf16 path
// runs only where the CPU has it). It rounds to nearest even like the
// portable loop but reads denormal inputs as zero, which training does
// anyway (runtime/process_settings.h flushes them).
__attribute__((target("avx512f,avx512bw,avx512vl,avx512bf16"))) void to_bfloat16_avx512(
    const float* src, uint16_t* dst, int64_t n) {
  int64_t j = 0;
  for (; j + 16 <= n; j += 16) {
    const __m256bh b = _mm512_cvtneps_pbh(_mm512_loadu_ps(src + j));
    _mm256_storeu_si256(reinterpret_cast<__m256i*>(dst + j), reinterpret_cast<const __m256i&>(b));
  }
  if (j < n) {
    const __mmask16 mask = static_cast<__mmask16>((1u << (n - j)) - 1);
    const __m256bh b = _mm512_cvtneps_pbh(_mm512_maskz_loadu_ps(mask, src + j));
    _mm256_mask_storeu_epi16(dst + j, mask, reinterpret_cast<const __m256i&>(b));
  }
}

bool cpu_converts_bf16() {
  static const bool has = __builtin_cpu_supports("avx512bf16") && __builtin_cpu_supports("avx512bw") &&
                          __builtin_cpu_supports("avx512vl");
  return has;
}
#endif

}  // namespace

void to_bfloat16(const float* in, int64_t ld_in, uint16_t* out, int64_t ld_out, int64_t rows,
                 int64_t cols) {
  for (int64_t r = 0; r < rows; ++r) {
#if defined(__x86_64__)
    if (cpu_converts_bf16()) {
      to_bfloat16_avx512(in + r * ld_in, out + r * ld_out, cols);
      continue;
    }
#endif
    to_bfloat16_portable(in + r * ld_in, out + r * ld_out, cols);
  }
}

#ifdef DISTGRU_HAVE_ONEDNN
namespace {

using dnnl::memory;

dnnl::engine& cpu_engine() {
  static dnnl::engine engine(dnnl::engine::kind::cpu, 0);
  return engine;
}

using Key = std::tuple<int64_t, int64_t, int64_t, bool, bool, int64_t, int64_t, int64_t, bool, int>;

struct KeyHash {
  size_t operator()(const Key& k) const {
    size_t h = 0;
    auto mix = [&h](size_t v) { h ^= v + 0x9e3779b97f4a7c15ULL + (h << 6) + (h >> 2); };
    std::apply([&](const auto&... field) { (mix(std::hash<std::decay_t<decltype(field)>>{}(field)), ...); },
               k);
    return h;
  }
};

// One shape's primitive and the memory objects it runs on (their data
// handles are set per call).
struct Prepared {
  dnnl::matmul product;
  memory a, b, c;
};

Prepared prepare(const GemmShape& s, bool packed_b) {
  const auto type = s.input == GemmInput::kBFloat16 ? memory::data_type::bf16 : memory::data_type::f32;
  const memory::desc a({s.m, s.k}, type,
                       s.a_transposed ? memory::dims{1, s.lda} : memory::dims{s.lda, 1});
  const memory::desc b = packed_b ? memory::desc({s.k, s.n}, type, memory::format_tag::any)
                                  : memory::desc({s.k, s.n}, type,
                                                 s.b_transposed ? memory::dims{1, s.ldb} : memory::dims{s.ldb, 1});
  const memory::desc c({s.m, s.n}, memory::data_type::f32, memory::dims{s.ldc, 1});
  dnnl::primitive_attr attr;
  if (s.accumulate) {
    dnnl::post_ops ops;
    ops.append_sum(1.0f);
    attr.set_post_ops(ops);
  }
  auto& engine = cpu_engine();
  const dnnl::matmul::primitive_desc pd(dnnl::matmul::desc(a, b, c), attr, engine);
  // A packed B gets its own buffer in the layout the primitive chose.
  return Prepared{dnnl::matmul(pd), memory(a, engine, nullptr),
                  packed_b ? memory(pd.weights_desc(), engine) : memory(b, engine, nullptr),
                  memory(c, engine, nullptr)};
}

Prepared prepare_checked(const GemmShape& s, bool packed_b) {
  try {
    return prepare(s, packed_b);
  } catch (const dnnl::error& e) {
    DISTGRU_FAIL(std::string("oneDNN cannot multiply [") + std::to_string(s.m) + "x" + std::to_string(s.k) +
                 "]x[" + std::to_string(s.k) + "x" + std::to_string(s.n) + "] in " +
                 (s.input == GemmInput::kBFloat16 ? "bf16" : "fp32") + " on this CPU (" + onednn_isa() +
                 "): " + e.what());
  }
}

dnnl::stream& thread_stream() {
  thread_local dnnl::stream stream(cpu_engine());
  return stream;
}

void execute(Prepared& p, const void* a, float* c) {
  p.a.set_data_handle(const_cast<void*>(a));
  p.c.set_data_handle(c);
  auto& stream = thread_stream();
  p.product.execute(stream, {{DNNL_ARG_SRC, p.a}, {DNNL_ARG_WEIGHTS, p.b}, {DNNL_ARG_DST, p.c}});
  stream.wait();
}

}  // namespace

bool onednn_available() { return true; }

bool onednn_native_bf16() {
  static const bool native = [] {
    const auto isa = dnnl::get_effective_cpu_isa();
    return isa == dnnl::cpu_isa::avx512_core_bf16 || isa == dnnl::cpu_isa::avx512_core_amx;
  }();
  return native;
}

std::string onednn_isa() {
  switch (dnnl::get_effective_cpu_isa()) {
    case dnnl::cpu_isa::sse41: return "sse41";
    case dnnl::cpu_isa::avx: return "avx";
    case dnnl::cpu_isa::avx2: return "avx2";
    case dnnl::cpu_isa::avx512_core: return "avx512_core";
    case dnnl::cpu_isa::avx512_core_vnni: return "avx512_core_vnni";
    case dnnl::cpu_isa::avx512_core_bf16: return "avx512_core_bf16";
    case dnnl::cpu_isa::avx512_core_amx: return "avx512_core_amx";
    default: return "other";
  }
}

void onednn_gemm(const GemmShape& s, const void* a, const void* b, float* c) {
  thread_local std::unordered_map<Key, Prepared, KeyHash> cache;
  const Key key{s.m, s.n, s.k, s.a_transposed, s.b_transposed, s.lda, s.ldb, s.ldc, s.accumulate,
                static_cast<int>(s.input)};
  auto it = cache.find(key);
  if (it == cache.end()) it = cache.emplace(key, prepare_checked(s, /*packed_b=*/false)).first;
  Prepared& p = it->second;
  p.b.set_data_handle(const_cast<void*>(b));
  execute(p, a, c);
}

struct PackedProduct::Impl {
  Prepared prepared;  // its own: multiply() sets the handles of a and c
};

PackedProduct::PackedProduct(const GemmShape& shape, const void* b) {
  DISTGRU_CHECK(!shape.b_transposed, "PackedProduct: b must be row-major [k, n]");
  impl_ = std::make_unique<Impl>(Impl{prepare_checked(shape, /*packed_b=*/true)});
  const auto type = shape.input == GemmInput::kBFloat16 ? memory::data_type::bf16 : memory::data_type::f32;
  memory plain(memory::desc({shape.k, shape.n}, type, memory::dims{shape.ldb, 1}), cpu_engine(),
               const_cast<void*>(b));
  auto& stream = thread_stream();
  dnnl::reorder(plain, impl_->prepared.b).execute(stream, plain, impl_->prepared.b);
  stream.wait();
}

void PackedProduct::multiply(const void* a, float* c) { execute(impl_->prepared, a, c); }

#else  // built without oneDNN

bool onednn_available() { return false; }
bool onednn_native_bf16() { return false; }
std::string onednn_isa() { return "none"; }
void onednn_gemm(const GemmShape&, const void*, const void*, float*) {
  DISTGRU_FAIL("distgru was built without oneDNN (install libdnnl-dev and rebuild)");
}

struct PackedProduct::Impl {};
PackedProduct::PackedProduct(const GemmShape&, const void*) {
  DISTGRU_FAIL("distgru was built without oneDNN (install libdnnl-dev and rebuild)");
}
void PackedProduct::multiply(const void*, float*) {}

#endif

PackedProduct::~PackedProduct() = default;
PackedProduct::PackedProduct(PackedProduct&&) noexcept = default;
PackedProduct& PackedProduct::operator=(PackedProduct&&) noexcept = default;

namespace {

// How a 2-D operand lies in memory: row-major with row stride ld, or
// transposed (column-major) with column stride ld.
struct Layout {
  bool transposed;
  int64_t ld;
};

// t is 2-D (onednn_product checks that first).
Layout layout_of(const torch::Tensor& t, const char* name) {
  if (t.stride(1) == 1) return {false, std::max(t.stride(0), t.size(1))};
  DISTGRU_CHECK(t.stride(0) == 1,
                std::string("onednn_product: ") + name + " is neither row- nor column-major");
  return {true, std::max(t.stride(1), t.size(0))};
}

}  // namespace

void onednn_product(const torch::Tensor& a, const torch::Tensor& b, torch::Tensor& out,
                    bool accumulate) {
  const bool bf16 = a.scalar_type() == torch::kBFloat16;
  DISTGRU_CHECK((bf16 || a.scalar_type() == torch::kFloat) && b.scalar_type() == a.scalar_type() &&
                    out.scalar_type() == torch::kFloat,
                "onednn_product: a and b must both be float or both bfloat16, out float");
  const auto dims = [](const torch::Tensor& t) {
    std::string text = "[";
    for (int64_t i = 0; i < t.dim(); ++i) text += (i ? "x" : "") + std::to_string(t.size(i));
    return text + "]";
  };
  DISTGRU_CHECK(a.dim() == 2 && b.dim() == 2 && out.dim() == 2 && a.size(1) == b.size(0) &&
                    out.size(0) == a.size(0) && out.size(1) == b.size(1) && out.stride(1) == 1,
                "onednn_product: " + dims(a) + " x " + dims(b) + " does not fit a row-major output " +
                    dims(out));
  const Layout la = layout_of(a, "a"), lb = layout_of(b, "b");
  GemmShape shape;
  shape.m = a.size(0);
  shape.k = a.size(1);
  shape.n = b.size(1);
  shape.a_transposed = la.transposed;
  shape.lda = la.ld;
  shape.b_transposed = lb.transposed;
  shape.ldb = lb.ld;
  shape.ldc = std::max(out.stride(0), out.size(1));
  shape.accumulate = accumulate;
  shape.input = bf16 ? GemmInput::kBFloat16 : GemmInput::kFloat32;
  onednn_gemm(shape, a.data_ptr(), b.data_ptr(), out.data_ptr<float>());
}

torch::Tensor bfloat16_copy(const torch::Tensor& t) {
  DISTGRU_CHECK(t.scalar_type() == torch::kFloat, "bfloat16_copy: needs a float tensor");
  const auto c = t.contiguous();
  auto out = torch::empty(c.sizes(), c.options().dtype(torch::kBFloat16));
  to_bfloat16(c.data_ptr<float>(), 0, reinterpret_cast<uint16_t*>(out.data_ptr()), 0, 1, c.numel());
  return out;
}

}  // namespace distgru::model
