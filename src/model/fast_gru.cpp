#include "model/fast_gru.h"

#include <ATen/Parallel.h>

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

// gi and dgi ([T*B, 6H]) are time-major: a step's B rows lie together, one
// run for the gate kernels instead of B rows each T rows from the next (the
// GRU alone, bf16, batch 64, one thread: backward 83.2 -> 81.7 ms, forward
// unchanged). x is made time-major in the copy that appends the ones
// column and dx goes back as a transposed view, so it costs no copy. dy and
// the output ([B, T, 2H]) stay batch-first, as the model has them.

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

// states_bf16: undefined in float32; in bf16, [2, T+1, B, H] bfloat16
// copies of the states (row 0 zero), the per-step products' left operand,
// kept for backward's W_hh gradient.
template <typename T>
void run_forward(const Tensor& gi, const std::array<GRUDirectionWeights, 2>& w, Tensor& gates,
                 Tensor& states, Tensor& out, const Tensor& states_bf16) {
  const int64_t steps = gates.size(1), B = gates.size(3), H = gates.size(4);
  const bool bf16 = states_bf16.defined();
  for_each_direction([&](int d) {
    // Contiguous [H, 3H]: a transposed view costs OpenBLAS a slower packing
    // every step (measured: 127 against 105 GFLOP/s for the step's GEMM).
    auto w_hh_t = w[d].w_hh.t().contiguous();
    if (bf16) w_hh_t = bfloat16_copy(w_hh_t);
    Tensor dir_states_bf16 = bf16 ? states_bf16.select(0, d) : Tensor();
    auto gh = torch::empty({B, 3 * H}, gi.options());
    const T* b_ih = w[d].b_ih.template data_ptr<T>();
    const T* b_hh = w[d].b_hh.template data_ptr<T>();
    const T* gi_d = gi.template data_ptr<T>() + d * 3 * H;
    T* out_d = out.template data_ptr<T>() + d * H;
    T* gates_d = gates.select(0, d).template data_ptr<T>();
    auto dir_states = states.select(0, d);
    T* states_d = dir_states.template data_ptr<T>();
    const int64_t step_states = B * H, step_gates = kGateSlots * B * H;
    for (int64_t s = 0; s < steps; ++s) {
      const int64_t t = time_of(d, s, steps);
      prefetch_rows(gi_d + t * B * 6 * H, B, 3 * H, 6 * H, false);
      prefetch_rows(out_d + t * 2 * H, B, H, steps * 2 * H, true);
      gru_product(bf16 ? dir_states_bf16[s] : dir_states[s], w_hh_t, gh, /*accumulate=*/false);
      T* g = gates_d + s * step_gates;
      step_forward<T>(B, H, gi_d + t * B * 6 * H, 6 * H, gh.template data_ptr<T>(), b_ih, b_hh,
                      states_d + s * step_states, g, g + B * H, g + 2 * B * H, g + 3 * B * H,
                      states_d + (s + 1) * step_states, out_d + t * 2 * H, steps * 2 * H);
      if (bf16) {
        to_bfloat16(reinterpret_cast<const float*>(states_d + (s + 1) * step_states), H,
                    bf16_data(dir_states_bf16[s + 1]), H, B, H);
      }
    }
  });
}

// float32: the kernel writes dgi and dgh (all steps) for the large gradient
// products after. bf16 (dgi_bf16 and dgh_bf16 defined, dgi and dgh not):
// w_hh are bfloat16 and the kernel writes each step's dgi and dgh into two
// small float rows that stay in cache, copied to bfloat16 at once and
// summed into db_hn ([2, H], the n gate's b_hh gradient), so the 100 MB of
// float dgi and dgh are never written (the GRU alone, batch 64, one thread:
// bf16 backward 87.5 -> 83.2 ms).
template <typename T>
void run_backward(const Tensor& dy, const std::array<Tensor, 2>& w_hh, const Tensor& gates,
                  const Tensor& states, Tensor& dgi, Tensor& dgh, const Tensor& dgi_bf16,
                  const Tensor& dgh_bf16, Tensor& db_hn) {
  const int64_t steps = gates.size(1), B = gates.size(3), H = gates.size(4);
  const bool bf16 = dgh_bf16.defined();
  for_each_direction([&](int d) {
    Tensor dir_dgh_bf16 = bf16 ? dgh_bf16.select(0, d) : Tensor();
    auto dh_next = torch::zeros({B, H}, dy.options());
    auto carry = torch::empty({B, H}, dy.options());
    const T* gates_d = gates.select(0, d).template data_ptr<T>();
    const T* states_d = states.select(0, d).template data_ptr<T>();
    Tensor dir_dgh = bf16 ? Tensor() : dgh.select(0, d);
    Tensor step_dgh = bf16 ? torch::empty({B, 3 * H}, dy.options()) : Tensor();
    Tensor step_dgi = bf16 ? torch::empty({B, 3 * H}, dy.options()) : Tensor();
    T* dgh_d = (bf16 ? step_dgh : dir_dgh).template data_ptr<T>();
    T* db_hn_d = bf16 ? db_hn.select(0, d).zero_().template data_ptr<T>() : nullptr;
    const T* dy_d = dy.template data_ptr<T>() + d * H;
    T* dgi_d = bf16 ? step_dgi.template data_ptr<T>() : dgi.template data_ptr<T>() + d * 3 * H;
    const int64_t dgi_ld = bf16 ? 3 * H : 6 * H;
    const int64_t step_states = B * H, step_gates = kGateSlots * B * H;
    for (int64_t s = steps - 1; s >= 0; --s) {
      const int64_t t = time_of(d, s, steps);
      const T* g = gates_d + s * step_gates;
      T* dgh_s = bf16 ? dgh_d : dgh_d + s * B * 3 * H;
      T* dgi_s = bf16 ? dgi_d : dgi_d + t * B * 6 * H;
      step_backward<T>(B, H, dy_d + t * 2 * H, steps * 2 * H, dh_next.template data_ptr<T>(), g,
                       g + B * H, g + 2 * B * H, g + 3 * B * H, states_d + s * step_states, dgi_s,
                       dgi_ld, dgh_s, carry.template data_ptr<T>());
      if (bf16) {
        to_bfloat16(reinterpret_cast<const float*>(dgh_s), 3 * H, bf16_data(dir_dgh_bf16[s]), 3 * H,
                    B, 3 * H);
        to_bfloat16(reinterpret_cast<const float*>(dgi_s), 3 * H,
                    bf16_data(dgi_bf16) + d * 3 * H + t * B * 6 * H, 6 * H, B, 3 * H);
        for (int64_t b = 0; b < B; ++b) {
          const T* row = dgh_s + b * 3 * H + 2 * H;
#pragma GCC ivdep
          for (int64_t j = 0; j < H; ++j) db_hn_d[j] += row[j];
        }
      }
      if (s == 0) break;  // h0 is a constant zero: its gradient is not needed
      const int64_t t_next = time_of(d, s - 1, steps);
      prefetch_rows(dy_d + t_next * 2 * H, B, H, steps * 2 * H, false);
      if (!bf16) prefetch_rows(dgi_d + t_next * B * 6 * H, B, 3 * H, 6 * H, true);
      gru_product(bf16 ? dir_dgh_bf16[s] : dir_dgh[s], w_hh[d], carry, /*accumulate=*/true);
      std::swap(dh_next, carry);
    }
  });
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
    // rows are contiguous; gi stays batch-first (see run_forward).
    // x with a column of ones after it: backward's W_ih gradient GEMM then
    // yields the b_ih gradient as its last column, instead of another pass
    // over the 50 MB of dgi (a sum over its rows).
    auto x1 = torch::empty({T * B, E + 1}, x.options());  // time-major
    x1.narrow(1, 0, E).view({T, B, E}).copy_(x.transpose(0, 1));
    x1.narrow(1, E, 1).fill_(1);
    // In bf16 the products' operands are bfloat16 copies; x1's copy is all
    // backward needs of it.
    if (bf16) x1 = bfloat16_copy(x1);
    auto w_ih = torch::cat({w_ih_f, w_ih_r}, 0);              // [6H, E]
    if (bf16) w_ih = bfloat16_copy(w_ih);
    // [B*T, 6H], biases go in the step. Small blocks here too when the BLAS
    // has the kernels for them: 17 against 25 ms at one rank's batch, as
    // they also skip zeroing the 50 MB output first.
    auto gi = torch::empty({T * B, 6 * H}, x.options());
    gru_product(x1.narrow(1, 0, E), w_ih.t(), gi, /*accumulate=*/false);
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
      run_forward<scalar_t>(gi, w, gates, states, out, states_bf16);
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
    std::array<Tensor, 2> w_hh{saved[1].contiguous(), saved[3].contiguous()};
    Tensor dgi, dgh, dgi_bf16, dgh_bf16, db_hn;
    if (bf16) {
      for (auto& w : w_hh) w = bfloat16_copy(w);
      dgi_bf16 = torch::empty({T * B, 6 * H}, dy.options().dtype(torch::kBFloat16));
      dgh_bf16 = torch::empty({2, T, B, 3 * H}, dy.options().dtype(torch::kBFloat16));
      db_hn = torch::empty({2, H}, dy.options());
    } else {
      dgi = torch::empty({T * B, 6 * H}, dy.options());
      dgh = torch::empty({2, T, B, 3 * H}, dy.options());
    }
    AT_DISPATCH_FLOATING_TYPES(dy.scalar_type(), "fast_gru_backward", [&] {
      run_backward<scalar_t>(dy, w_hh, gates, states, dgi, dgh, dgi_bf16, dgh_bf16, db_hn);
    });

    // Everything below is a large GEMM or a reduction over all steps at once.
    const auto& dgi_in = bf16 ? dgi_bf16 : dgi;
    auto mm = [](const Tensor& a, const Tensor& b) {
      const auto type = a.scalar_type() == torch::kBFloat16 ? torch::kFloat : a.scalar_type();
      auto out = torch::empty({a.size(0), b.size(1)}, a.options().dtype(type));
      gru_product(a, b, out, /*accumulate=*/false);
      return out;
    };
    Tensor dx;
    if (ctx->needs_input_grad(0)) {
      auto w_ih = torch::cat({saved[0], saved[2]}, 0);
      if (bf16) w_ih = bfloat16_copy(w_ih);
      dx = mm(dgi_in, w_ih).view({T, B, E}).transpose(0, 1);
    }
    // The weight gradients are made transposed, x1^T dgi rather than
    // dgi^T x1 (and h^T dgh below): the long sum over B*T rows then runs
    // with 768 output columns instead of 101, which oneDNN multiplies at
    // 99 against 76 GFLOP/s in fp32 (183 against 159 in bf16; AMD EPYC, one
    // thread); the transposes back are the copies into the gradients.
    const auto dw_ih1 = mm(x1.t(), dgi_in).t();  // [6H, E + 1]: W_ih's gradient, then b_ih's
    const auto dw_ih = dw_ih1.narrow(1, 0, E);
    const auto db_ih = dw_ih1.select(1, E);
    variable_list grads(10);  // the last for the bf16 flag: none
    grads[0] = dx;
    for (int d = 0; d < 2; ++d) {
      const auto& products_dgh = bf16 ? dgh_bf16 : dgh;
      const auto& products_states = bf16 ? states_bf16 : states;
      auto h_prev = products_states.select(0, d).narrow(0, 0, T).reshape({T * B, H});
      grads[1 + 4 * d] = dw_ih.narrow(0, 3 * H * d, 3 * H).contiguous();
      grads[2 + 4 * d] = mm(h_prev.t(), products_dgh.select(0, d).view({T * B, 3 * H})).t().contiguous();
      grads[3 + 4 * d] = db_ih.narrow(0, 3 * H * d, 3 * H).contiguous();
      // b_hh's gradient equals b_ih's for the r and z gates (the kernel writes
      // the same values to dgi and dgh); only the n gate's, scaled by r,
      // needs its own pass, over a third of dgh.
      auto db_hh = torch::empty({3 * H}, dy.options());
      db_hh.narrow(0, 0, 2 * H).copy_(db_ih.narrow(0, 3 * H * d, 2 * H));
      auto db_hh_n = db_hh.narrow(0, 2 * H, H);
      if (bf16) {
        db_hh_n.copy_(db_hn.select(0, d));  // summed step by step in run_backward
      } else {
        at::mv_out(db_hh_n, dgh.select(0, d).view({T * B, 3 * H}).narrow(1, 2 * H, H).t(),
                   torch::ones({T * B}, dy.options()));
      }
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

std::string fast_gru_summary(Precision precision) {
  std::string products;
  switch (fast_gru_gemm()) {
    case GruGemm::kWhole: products = "ATen's BLAS"; break;
    case GruGemm::kSmallBlocks: products = "ATen's BLAS, step products in small CBLAS blocks"; break;
    case GruGemm::kOneDnn: products = "oneDNN (" + onednn_isa() + ")"; break;
  }
  if (precision == Precision::kBFloat16) products = "oneDNN bf16 (" + onednn_isa() + ")";
  return std::string("fast GRU: ") + fast_gru_kernels() + " gate kernels, " +
         choice_name(precision) + " products through " + products;
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
