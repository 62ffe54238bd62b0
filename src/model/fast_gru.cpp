#include "model/fast_gru.h"

#include <ATen/Parallel.h>

#include <algorithm>
#include <array>
#include <atomic>

#include "common/error.h"
#include "common/native.h"
#include "model/gru_step.h"
#include "model/gru_products.h"
#include "model/onednn_gemm.h"

namespace distgru::model {
namespace {

using torch::Tensor;
using torch::autograd::AutogradContext;
using torch::autograd::variable_list;

constexpr int kGateSlots = 4;  // r, z, n, hn kept per step for backward

// While the two directions run on two threads, each GEMM must stay on its own
// thread: OpenBLAS (which ignores torch's thread count) would otherwise start
// its own pool under both and oversubscribe the cores. A no-op when the BLAS
// behind LibTorch is not OpenBLAS.
class SerialBlasScope {
 public:
  SerialBlasScope() : saved_(openblas_threads()) {
    if (saved_ > 1) set_openblas_threads(1);
  }
  ~SerialBlasScope() {
    if (saved_ > 1) set_openblas_threads(saved_);
  }
  SerialBlasScope(const SerialBlasScope&) = delete;
  SerialBlasScope& operator=(const SerialBlasScope&) = delete;

 private:
  const int saved_;
};

// Runs fn(0) and fn(1), the two directions, in parallel when torch has more
// than one intra-op thread. Each direction writes disjoint memory, so the
// result does not depend on the schedule.
template <typename Fn>
void for_each_direction(const Fn& fn) {
  if (at::get_num_threads() > 1 && !at::in_parallel_region()) {
    SerialBlasScope serial;
    at::parallel_for(0, 2, 1, [&](int64_t begin, int64_t end) {
      for (int64_t d = begin; d < end; ++d) fn(static_cast<int>(d));
    });
  } else {
    fn(0);
    fn(1);
  }
}

uint16_t* bf16_data(const Tensor& t) { return reinterpret_cast<uint16_t*>(t.data_ptr()); }

// Step s of direction d reads input time t: forward walks 0..T-1, reverse T-1..0.
inline int64_t time_of(int d, int64_t s, int64_t T) { return d == 0 ? s : T - 1 - s; }

// The input side of each direction is multiplied in blocks of kBlockSteps
// steps, just before (forward) or just after (backward) the recurrence walks
// them: the block's gi (forward) and dgi, dgh (backward) are made and used
// while they sit in cache, instead of T*B*6H floats (50 MB at one rank's
// batch 64) written to memory by one large product and read back by the
// step kernels (forward) or by the large gradient products (backward). x
// (x1 below) is time-major, so a block's input rows lie together; dy and the
// output ([B, T, 2H]) stay batch-first, as the model has them. The GRU
// alone (batch 64, one thread, AMD EPYC), forward / backward ms: fp32 70.3 /
// 132.5 -> 64.0 / 123.3, bf16 46.5 / 82.2 -> 39.9 / 75.0; blocks of 4 or 16
// steps were 1-2% slower in fp32.
constexpr int64_t kBlockSteps = 8;

// The steps [s_lo, s_lo + n) of direction d read the input times
// [t_lo, t_lo + n), in either order.
inline int64_t block_first_time(int d, int64_t s_lo, int64_t n, int64_t T) {
  return d == 0 ? s_lo : T - s_lo - n;
}

// Asks for `rows` rows of `width` elements (row stride ld) to be brought
// into cache while the step's GEMM runs: dy and the output are touched in a
// short run in each of B rows T rows apart, which the hardware prefetchers
// do not follow.
template <typename T>
inline void prefetch_rows(const T* p, int64_t rows, int64_t width, int64_t ld, bool for_write) {
  constexpr int64_t kLine = 64 / sizeof(T);
  for (int64_t r = 0; r < rows; ++r) {
    const T* row = p + r * ld;
    for (int64_t j = 0; j < width; j += kLine) {
      if (for_write) {
        __builtin_prefetch(row + j, 1, 3);
      } else {
        __builtin_prefetch(row + j, 0, 3);
      }
    }
  }
}

// x1: [T*B, E+1] time-major input with a ones column (bfloat16 in bf16);
// w_ih_t[d]: [E, 3H] (a transposed view; bfloat16 in bf16). states_bf16:
// undefined in float32; in bf16, [2, T+1, B, H] bfloat16 copies of the
// states (row 0 zero), the per-step products' left operand, kept for
// backward's W_hh gradient.
template <typename T>
void run_forward(const Tensor& x1, const std::array<Tensor, 2>& w_ih_t,
                 const std::array<GRUDirectionWeights, 2>& w, Tensor& gates, Tensor& states,
                 Tensor& out, const Tensor& states_bf16) {
  const int64_t steps = gates.size(1), B = gates.size(3), H = gates.size(4), E = x1.size(1) - 1;
  const bool bf16 = states_bf16.defined();
  for_each_direction([&](int d) {
    // Contiguous [H, 3H]: a transposed view costs OpenBLAS a slower packing
    // every step (measured: 127 against 105 GFLOP/s for the step's GEMM).
    auto w_hh_t = w[d].w_hh.t().contiguous();
    if (bf16) w_hh_t = bfloat16_copy(w_hh_t);
    uint16_t* states_bf16_d = bf16 ? bf16_data(states_bf16.select(0, d)) : nullptr;
    StepProduct recurrent_product(w_hh_t, B, /*lda=*/H, /*accumulate=*/false);  // gh = h_prev W_hh^T
    auto gh = torch::empty({B, 3 * H}, out.options());
    auto gi = torch::empty({kBlockSteps * B, 3 * H}, out.options());  // one block, time-ordered rows
    const T* b_ih = w[d].b_ih.template data_ptr<T>();
    const T* b_hh = w[d].b_hh.template data_ptr<T>();
    T* out_d = out.template data_ptr<T>() + d * H;
    T* gates_d = gates.select(0, d).template data_ptr<T>();
    auto dir_states = states.select(0, d);
    T* states_d = dir_states.template data_ptr<T>();
    const int64_t step_states = B * H, step_gates = kGateSlots * B * H;
    int64_t t_lo = 0;
    for (int64_t s = 0; s < steps; ++s) {
      if (s % kBlockSteps == 0) {
        const int64_t n = std::min(kBlockSteps, steps - s);
        t_lo = block_first_time(d, s, n, steps);
        auto gi_block = gi.narrow(0, 0, n * B);
        gru_product(x1.narrow(0, t_lo * B, n * B).narrow(1, 0, E), w_ih_t[d], gi_block,
                    /*accumulate=*/false);
      }
      const int64_t t = time_of(d, s, steps);
      prefetch_rows(out_d + t * 2 * H, B, H, steps * 2 * H, true);
      recurrent_product(bf16 ? static_cast<const void*>(states_bf16_d + s * step_states) : states_d + s * step_states,
                        gh);
      T* g = gates_d + s * step_gates;
      step_forward<T>(B, H, gi.template data_ptr<T>() + (t - t_lo) * B * 3 * H, 3 * H,
                      gh.template data_ptr<T>(), b_ih, b_hh, states_d + s * step_states, g, g + B * H,
                      g + 2 * B * H, g + 3 * B * H, states_d + (s + 1) * step_states, out_d + t * 2 * H,
                      steps * 2 * H);
      if (bf16) {
        to_bfloat16(reinterpret_cast<const float*>(states_d + (s + 1) * step_states), H,
                    states_bf16_d + (s + 1) * step_states, H, B, H);
      }
    }
  });
}

// The gradients backward makes, per direction d: dx[d] the input's through
// this direction ([T*B, E_pad], time-major, E of padded_width(E) columns
// used; the caller adds the two), dw_ih1[d]
// = x1^T dgi ([E+1, 3H]: W_ih's gradient transposed, then b_ih's as the
// last row, from x1's ones column), dw_hh[d] = h_prev^T dgh ([H, 3H], W_hh's
// transposed) and db_hn[d] ([H], the n gate's b_hh gradient, the sum of
// dgh's n columns). The weight gradients are made transposed: the long sum
// over B*T rows then runs with 3H output columns instead of E+1, which
// oneDNN multiplies faster (99 against 76 GFLOP/s in fp32, 183 against 159
// in bf16; AMD EPYC, one thread).
struct GruGrads {
  Tensor dx, dw_ih1, dw_hh, db_hn;  // leading dimension 2: the direction
};

// w_ih[d]: [3H, E_pad], zero-padded (bfloat16 in bf16); w_hh[d]: [3H, H] (bfloat16 in bf16);
// states_bf16 as run_forward's. The step kernel writes each step's dgi and
// dgh in float into the block buffers (in bf16, into one step's float rows
// that are copied to bfloat16 block rows at once); every kBlockSteps steps
// the block's dgi and dgh go through the gradient products while in cache.
template <typename T>
void run_backward(const Tensor& dy, const Tensor& x1, const std::array<Tensor, 2>& w_ih,
                  const std::array<Tensor, 2>& w_hh, const Tensor& gates, const Tensor& states,
                  const Tensor& states_bf16, bool need_dx, GruGrads& grads) {
  const int64_t steps = gates.size(1), B = gates.size(3), H = gates.size(4);
  const bool bf16 = states_bf16.defined();
  for_each_direction([&](int d) {
    StepProduct recurrent_product(w_hh[d], B, /*lda=*/3 * H, /*accumulate=*/true);  // carry += dgh W_hh
    auto dh_next = torch::zeros({B, H}, dy.options());
    auto carry = torch::empty({B, H}, dy.options());
    const T* gates_d = gates.select(0, d).template data_ptr<T>();
    const T* states_d = states.select(0, d).template data_ptr<T>();
    const auto& h_prev_all = bf16 ? states_bf16.select(0, d) : states.select(0, d);  // [T+1, B, H]
    // One block: dgi's rows in time order (x1's), dgh's in step order (the states').
    const auto block_options = bf16 ? dy.options().dtype(torch::kBFloat16) : dy.options();
    auto dgi = torch::empty({kBlockSteps * B, 3 * H}, block_options);
    auto dgh = torch::empty({kBlockSteps * B, 3 * H}, block_options);
    Tensor step_dgi = bf16 ? torch::empty({B, 3 * H}, dy.options()) : Tensor();
    Tensor step_dgh = bf16 ? torch::empty({B, 3 * H}, dy.options()) : Tensor();
    auto dx = need_dx ? grads.dx.select(0, d) : Tensor();
    auto dw_ih1 = grads.dw_ih1.select(0, d);
    auto dw_hh = grads.dw_hh.select(0, d);
    T* db_hn = grads.db_hn.select(0, d).zero_().template data_ptr<T>();
    const T* dy_d = dy.template data_ptr<T>() + d * H;
    const int64_t step_states = B * H, step_gates = kGateSlots * B * H;
    const int64_t blocks = (steps + kBlockSteps - 1) / kBlockSteps;
    for (int64_t block = blocks - 1; block >= 0; --block) {
      const int64_t s_lo = block * kBlockSteps, n = std::min(kBlockSteps, steps - s_lo);
      const int64_t t_lo = block_first_time(d, s_lo, n, steps);
      for (int64_t s = s_lo + n - 1; s >= s_lo; --s) {
        const int64_t t = time_of(d, s, steps);
        const T* g = gates_d + s * step_gates;
        T* dgi_s = bf16 ? step_dgi.template data_ptr<T>()
                        : dgi.template data_ptr<T>() + (t - t_lo) * B * 3 * H;
        T* dgh_s = bf16 ? step_dgh.template data_ptr<T>()
                        : dgh.template data_ptr<T>() + (s - s_lo) * B * 3 * H;
        step_backward<T>(B, H, dy_d + t * 2 * H, steps * 2 * H, dh_next.template data_ptr<T>(), g,
                         g + B * H, g + 2 * B * H, g + 3 * B * H, states_d + s * step_states, dgi_s,
                         3 * H, dgh_s, carry.template data_ptr<T>());
        if (bf16) {
          to_bfloat16(reinterpret_cast<const float*>(dgh_s), 3 * H,
                      bf16_data(dgh) + (s - s_lo) * B * 3 * H, 3 * H, B, 3 * H);
          to_bfloat16(reinterpret_cast<const float*>(dgi_s), 3 * H,
                      bf16_data(dgi) + (t - t_lo) * B * 3 * H, 3 * H, B, 3 * H);
        }
        for (int64_t b = 0; b < B; ++b) {
          const T* row = dgh_s + b * 3 * H + 2 * H;
#pragma GCC ivdep
          for (int64_t j = 0; j < H; ++j) db_hn[j] += row[j];
        }
        if (s == 0) break;  // h0 is a constant zero: its gradient is not needed
        prefetch_rows(dy_d + time_of(d, s - 1, steps) * 2 * H, B, H, steps * 2 * H, false);
        recurrent_product(static_cast<const char*>(dgh.data_ptr()) + (s - s_lo) * B * 3 * H * dgh.element_size(),
                          carry);
        std::swap(dh_next, carry);
      }
      // The block's share of the large products, while dgi and dgh are in cache.
      auto dgi_block = dgi.narrow(0, 0, n * B), dgh_block = dgh.narrow(0, 0, n * B);
      const bool first = block == blocks - 1;
      if (need_dx) {
        auto dx_block = dx.narrow(0, t_lo * B, n * B);
        gru_product(dgi_block, w_ih[d], dx_block, /*accumulate=*/false);
      }
      gru_product(x1.narrow(0, t_lo * B, n * B).t(), dgi_block, dw_ih1, /*accumulate=*/!first);
      gru_product(h_prev_all.narrow(0, s_lo, n).reshape({n * B, H}).t(), dgh_block, dw_hh,
                  /*accumulate=*/!first);
    }
  });
}

// The input's gradient has E columns (the embedding's width, 100 for the
// tutorial), which the dx products make as dgi [rows, 3H] x W_ih [3H, E]: a
// width that is not a whole number of AVX-512 vectors leaves oneDNN a
// masked tail in every row. Padded with zero columns of W_ih to a multiple
// of 16 they run as full vectors: [512 x 384] x [384 x 100] at 93 GFLOP/s,
// x [384 x 112] at 111 (AMD EPYC, one thread, hot cache).
int64_t padded_width(int64_t E) { return (E + 15) / 16 * 16; }

// dx: [2, T*B, ld] (per direction, time-major, E of ld columns used) ->
// [B, T, E], the two directions' sum in the layout the embedding's backward
// reads: one pass, where an add and then the embedding's transposing copy
// made two.
template <typename T>
Tensor sum_directions_batch_first(const Tensor& dx, int64_t steps, int64_t B, int64_t E) {
  auto out = torch::empty({B, steps, E}, dx.options());
  const int64_t ld = dx.size(2);
  const T* forward = dx.data_ptr<T>();
  const T* reverse = forward + dx.stride(0);
  T* o = out.data_ptr<T>();
  at::parallel_for(0, steps, 16, [&](int64_t lo, int64_t hi) {
    for (int64_t t = lo; t < hi; ++t) {
      for (int64_t b = 0; b < B; ++b) {
        const T* x0 = forward + (t * B + b) * ld;
        const T* x1 = reverse + (t * B + b) * ld;
        T* y = o + (b * steps + t) * E;
        for (int64_t k = 0; k < E; ++k) y[k] = x0[k] + x1[k];
      }
    }
  });
  return out;
}

class FastGRUFunction : public torch::autograd::Function<FastGRUFunction> {
 public:
  static Tensor forward(AutogradContext* ctx, const Tensor& x, const Tensor& w_ih_f,
                        const Tensor& w_hh_f, const Tensor& b_ih_f, const Tensor& b_hh_f,
                        const Tensor& w_ih_r, const Tensor& w_hh_r, const Tensor& b_ih_r,
                        const Tensor& b_hh_r, bool bf16) {
    const int64_t B = x.size(0), T = x.size(1), E = x.size(2), H = w_hh_f.size(1);
    const std::array<GRUDirectionWeights, 2> w{
        GRUDirectionWeights{w_ih_f, w_hh_f, b_ih_f.contiguous(), b_hh_f.contiguous()},
        GRUDirectionWeights{w_ih_r, w_hh_r, b_ih_r.contiguous(), b_hh_r.contiguous()}};
    // The per-step buffers (gates, states) are time-major, so that one step's
    // rows are contiguous. x with a column of ones after it (time-major):
    // backward's W_ih gradient products then yield the b_ih gradient as
    // their last row, instead of another pass over dgi (a sum over its rows).
    auto x1 = torch::empty({T * B, E + 1}, x.options());
    x1.narrow(1, 0, E).view({T, B, E}).copy_(x.transpose(0, 1));
    x1.narrow(1, E, 1).fill_(1);
    // In bf16 the products' operands are bfloat16 copies; x1's copy is all
    // backward needs of it.
    if (bf16) x1 = bfloat16_copy(x1);
    // Made once here, not at every block: [E, 3H] row-major in fp32 (the
    // CBLAS blocks' layout), a transposed view of the bfloat16 copy in bf16
    // (oneDNN reads either).
    const std::array<Tensor, 2> w_ih_t{bf16 ? bfloat16_copy(w_ih_f).t() : w_ih_f.t().contiguous(),
                                       bf16 ? bfloat16_copy(w_ih_r).t() : w_ih_r.t().contiguous()};
    auto gates = torch::empty({2, T, kGateSlots, B, H}, x.options());
    auto states = torch::empty({2, T + 1, B, H}, x.options());
    states.select(1, 0).zero_();
    Tensor states_bf16;
    if (bf16) {
      states_bf16 = torch::empty({2, T + 1, B, H}, x.options().dtype(torch::kBFloat16));
      states_bf16.select(1, 0).zero_();
    }
    auto out = torch::empty({B, T, 2 * H}, x.options());
    AT_DISPATCH_FLOATING_TYPES(x.scalar_type(), "fast_gru_forward", [&] {
      run_forward<scalar_t>(x1, w_ih_t, w, gates, states, out, states_bf16);
    });

    ctx->save_for_backward({w_ih_f, w_hh_f, w_ih_r, w_hh_r});
    ctx->saved_data["bf16"] = bf16;
    ctx->saved_data["states_bf16"] = states_bf16;
    ctx->saved_data["x1"] = x1;
    ctx->saved_data["gates"] = gates;
    ctx->saved_data["states"] = states;
    return out;
  }

  static variable_list backward(AutogradContext* ctx, variable_list grad_out) {
    torch::NoGradGuard no_grad;
    const auto saved = ctx->get_saved_variables();
    const auto x1 = ctx->saved_data["x1"].toTensor();
    const auto gates = ctx->saved_data["gates"].toTensor();
    const auto states = ctx->saved_data["states"].toTensor();
    const int64_t T = gates.size(1), B = gates.size(3), H = gates.size(4), E = x1.size(1) - 1;
    const bool bf16 = ctx->saved_data["bf16"].toBool();
    const auto states_bf16 = ctx->saved_data["states_bf16"].toTensor();
    auto dy = grad_out[0].contiguous();  // [B, T, 2H]
    const bool need_dx = ctx->needs_input_grad(0);
    const int64_t E_pad = padded_width(E);
    // W_ih only makes dx here: zero columns pad its width (padded_width).
    std::array<Tensor, 2> w_ih;
    if (need_dx) {
      for (int d = 0; d < 2; ++d) {
        w_ih[d] = torch::constant_pad_nd(saved[2 * d], {0, E_pad - E}).contiguous();
        if (bf16) w_ih[d] = bfloat16_copy(w_ih[d]);
      }
    }
    std::array<Tensor, 2> w_hh{saved[1].contiguous(), saved[3].contiguous()};
    if (bf16) {
      for (auto& w : w_hh) w = bfloat16_copy(w);
    }
    GruGrads g;
    if (need_dx) g.dx = torch::empty({2, T * B, E_pad}, dy.options());
    g.dw_ih1 = torch::empty({2, E + 1, 3 * H}, dy.options());
    g.dw_hh = torch::empty({2, H, 3 * H}, dy.options());
    g.db_hn = torch::empty({2, H}, dy.options());
    AT_DISPATCH_FLOATING_TYPES(dy.scalar_type(), "fast_gru_backward", [&] {
      run_backward<scalar_t>(dy, x1, w_ih, w_hh, gates, states, states_bf16, need_dx, g);
    });

    variable_list grads(10);  // the last for the bf16 flag: none
    if (need_dx) {
      AT_DISPATCH_FLOATING_TYPES(dy.scalar_type(), "fast_gru_dx", [&] {
        grads[0] = sum_directions_batch_first<scalar_t>(g.dx, T, B, E);
      });
    }
    for (int d = 0; d < 2; ++d) {
      const auto dw_ih1 = g.dw_ih1.select(0, d);  // [E + 1, 3H]
      const auto db_ih = dw_ih1.select(0, E);
      grads[1 + 4 * d] = dw_ih1.narrow(0, 0, E).t().contiguous();
      grads[2 + 4 * d] = g.dw_hh.select(0, d).t().contiguous();
      grads[3 + 4 * d] = db_ih.contiguous();
      // b_hh's gradient equals b_ih's for the r and z gates (the kernel writes
      // the same values to dgi and dgh); only the n gate's, scaled by r,
      // differs, summed step by step in run_backward.
      auto db_hh = torch::empty({3 * H}, dy.options());
      db_hh.narrow(0, 0, 2 * H).copy_(db_ih.narrow(0, 0, 2 * H));
      db_hh.narrow(0, 2 * H, H).copy_(g.db_hn.select(0, d));
      grads[4 + 4 * d] = db_hh;
    }
    return grads;
  }
};

void check_direction(const GRUDirectionWeights& w, const torch::Tensor& x, int64_t H) {
  const int64_t E = x.size(2);
  DISTGRU_CHECK(w.w_ih.sizes() == torch::IntArrayRef({3 * H, E}) &&
                    w.w_hh.sizes() == torch::IntArrayRef({3 * H, H}) &&
                    w.b_ih.sizes() == torch::IntArrayRef({3 * H}) &&
                    w.b_hh.sizes() == torch::IntArrayRef({3 * H}),
                "fast_gru: weights do not match nn::GRU's layout for input size " +
                    std::to_string(E) + ", hidden size " + std::to_string(H));
  for (const auto* t : {&w.w_ih, &w.w_hh, &w.b_ih, &w.b_hh}) {
    DISTGRU_CHECK(t->scalar_type() == x.scalar_type() && t->device().is_cpu(),
                  "fast_gru: weights must be CPU tensors of the input's dtype");
  }
}

}  // namespace

const char* fast_gru_kernels() { return gru_step_isa(); }

std::string fast_gru_summary(std::optional<Precision> precision) {
  std::string products;
  switch (fast_gru_gemm()) {
    case GruGemm::kWhole: products = "ATen's BLAS"; break;
    case GruGemm::kSmallBlocks: products = "ATen's BLAS, step products in small CBLAS blocks"; break;
    case GruGemm::kOneDnn: products = "oneDNN (" + onednn_isa() + ")"; break;
  }
  if (precision == Precision::kBFloat16) products = "oneDNN bf16 (" + onednn_isa() + ")";
  return std::string("fast GRU: ") + fast_gru_kernels() + " gate kernels, " +
         (precision ? std::string(choice_name(*precision)) + " " : std::string()) + "products through " + products;
}

torch::Tensor fast_bidirectional_gru(const torch::Tensor& x, const GRUDirectionWeights& forward,
                                     const GRUDirectionWeights& reverse, Precision precision) {
  DISTGRU_CHECK(x.dim() == 3 && x.size(0) > 0 && x.size(1) > 0,
                "fast_gru: input must be a non-empty [batch, time, features] tensor");
  DISTGRU_CHECK(x.device().is_cpu(), "fast_gru: CPU tensors only (CUDA uses cuDNN's GRU)");
  DISTGRU_CHECK(x.scalar_type() == torch::kFloat || x.scalar_type() == torch::kDouble,
                "fast_gru: float32 or float64 only");
  const bool bf16 = precision == Precision::kBFloat16;
  DISTGRU_CHECK(!bf16 || x.scalar_type() == torch::kFloat, "fast_gru: bf16 products need float32 tensors");
  DISTGRU_CHECK(!bf16 || effective_precision(precision) == Precision::kBFloat16,
                "fast_gru: bf16 products are not available here (see effective_precision)");
  const int64_t H = forward.w_hh.size(1);
  check_direction(forward, x, H);
  check_direction(reverse, x, H);
  return FastGRUFunction::apply(x, forward.w_ih, forward.w_hh, forward.b_ih, forward.b_hh,
                                reverse.w_ih, reverse.w_hh, reverse.b_ih, reverse.b_hh, bf16);
}

}  // namespace distgru::model
