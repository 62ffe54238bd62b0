#include "model/fast_gru.h"

#include <array>

#include "common/error.h"
#include "model/gru_passes.h"
#include "model/gru_step.h"
#include "model/onednn_gemm.h"

namespace distgru::model {
namespace {

using torch::Tensor;
using torch::autograd::AutogradContext;
using torch::autograd::variable_list;
using gru_passes::GruGrads;
using gru_passes::kGateSlots;
using gru_passes::padded_width;
using gru_passes::run_backward;
using gru_passes::run_forward;
using gru_passes::sum_directions_batch_first;

class FastGRUFunction : public torch::autograd::Function<FastGRUFunction> {
 public:
  // x: [B, T, E] with index empty ([0]: autograd refuses an undefined input
  // tensor), or the distinct rows [U, E] with index [B, T] int64
  // (gru_passes.h's two forms of the input side).
  static Tensor forward(AutogradContext* ctx, const Tensor& x, const Tensor& index, const Tensor& w_ih_f,
                        const Tensor& w_hh_f, const Tensor& b_ih_f, const Tensor& b_hh_f,
                        const Tensor& w_ih_r, const Tensor& w_hh_r, const Tensor& b_ih_r,
                        const Tensor& b_hh_r, bool bf16) {
    const bool rows = index.dim() == 2;
    const Tensor row_index = rows ? index : Tensor();  // gru_passes: undefined when dense
    const int64_t B = rows ? index.size(0) : x.size(0), T = rows ? index.size(1) : x.size(1);
    const int64_t E = x.size(-1), H = w_hh_f.size(1);
    const std::array<GRUDirectionWeights, 2> w{
        GRUDirectionWeights{w_ih_f, w_hh_f, b_ih_f.contiguous(), b_hh_f.contiguous()},
        GRUDirectionWeights{w_ih_r, w_hh_r, b_ih_r.contiguous(), b_hh_r.contiguous()}};
    // The per-step buffers (gates, states) are time-major, so that one step's
    // rows are contiguous. x with a column of ones after it (time-major):
    // backward's W_ih gradient products then yield the b_ih gradient as
    // their last row, instead of another pass over dgi (a sum over its rows).
    auto x1 = torch::empty({rows ? x.size(0) : T * B, E + 1}, x.options());
    if (rows) {
      x1.narrow(1, 0, E).copy_(x);
    } else {
      x1.narrow(1, 0, E).view({T, B, E}).copy_(x.transpose(0, 1));
    }
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
      run_forward<scalar_t>(x1, row_index, w_ih_t, w, gates, states, out, states_bf16);
    });

    ctx->save_for_backward({w_ih_f, w_hh_f, w_ih_r, w_hh_r});
    ctx->saved_data["bf16"] = bf16;
    ctx->saved_data["states_bf16"] = states_bf16;
    ctx->saved_data["x1"] = x1;
    ctx->saved_data["index"] = row_index;
    ctx->saved_data["gates"] = gates;
    ctx->saved_data["states"] = states;
    return out;
  }

  static variable_list backward(AutogradContext* ctx, variable_list grad_out) {
    torch::NoGradGuard no_grad;
    const auto saved = ctx->get_saved_variables();
    const auto x1 = ctx->saved_data["x1"].toTensor();
    const auto index = ctx->saved_data["index"].toTensor();
    const bool rows = index.defined();
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
    if (need_dx) g.dx = torch::empty({2, rows ? x1.size(0) : T * B, E_pad}, dy.options());
    g.dw_ih1 = torch::empty({2, E + 1, 3 * H}, dy.options());
    g.dw_hh = torch::empty({2, H, 3 * H}, dy.options());
    g.db_hn = torch::empty({2, H}, dy.options());
    AT_DISPATCH_FLOATING_TYPES(dy.scalar_type(), "fast_gru_backward", [&] {
      run_backward<scalar_t>(dy, x1, index, w_ih, w_hh, gates, states, states_bf16, need_dx, g);
    });

    variable_list grads(11);  // none for the index and the bf16 flag
    if (need_dx && rows) {
      grads[0] = (g.dx.select(0, 0) + g.dx.select(0, 1)).narrow(1, 0, E).contiguous();  // [U, E]
    } else if (need_dx) {
      AT_DISPATCH_FLOATING_TYPES(dy.scalar_type(), "fast_gru_dx", [&] {
        grads[0] = sum_directions_batch_first<scalar_t>(g.dx, T, B, E);
      });
    }
    for (int d = 0; d < 2; ++d) {
      const auto dw_ih1 = g.dw_ih1.select(0, d);  // [E + 1, 3H]
      const auto db_ih = dw_ih1.select(0, E);
      grads[2 + 4 * d] = dw_ih1.narrow(0, 0, E).t().contiguous();
      grads[3 + 4 * d] = g.dw_hh.select(0, d).t().contiguous();
      grads[4 + 4 * d] = db_ih.contiguous();
      // b_hh's gradient equals b_ih's for the r and z gates (the kernel writes
      // the same values to dgi and dgh); only the n gate's, scaled by r,
      // differs, summed step by step in run_backward.
      auto db_hh = torch::empty({3 * H}, dy.options());
      db_hh.narrow(0, 0, 2 * H).copy_(db_ih.narrow(0, 0, 2 * H));
      db_hh.narrow(0, 2 * H, H).copy_(g.db_hn.select(0, d));
      grads[5 + 4 * d] = db_hh;
    }
    return grads;
  }
};

void check_direction(const GRUDirectionWeights& w, const torch::Tensor& x, int64_t H) {
  const int64_t E = x.size(-1);
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

namespace {

// What both entries share: x (the input or its distinct rows) and the
// weights, checked once per call. Returns whether the products run in bf16.
bool check_inputs(const torch::Tensor& x, const GRUDirectionWeights& forward,
                  const GRUDirectionWeights& reverse, Precision precision) {
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
  return bf16;
}

}  // namespace

torch::Tensor fast_bidirectional_gru(const torch::Tensor& x, const GRUDirectionWeights& forward,
                                     const GRUDirectionWeights& reverse, Precision precision) {
  DISTGRU_CHECK(x.dim() == 3 && x.size(0) > 0 && x.size(1) > 0,
                "fast_gru: input must be a non-empty [batch, time, features] tensor");
  const bool bf16 = check_inputs(x, forward, reverse, precision);
  return FastGRUFunction::apply(x, torch::empty({0}, torch::kLong), forward.w_ih, forward.w_hh, forward.b_ih, forward.b_hh,
                                reverse.w_ih, reverse.w_hh, reverse.b_ih, reverse.b_hh, bf16);
}

torch::Tensor fast_bidirectional_gru_rows(const torch::Tensor& rows, const torch::Tensor& index,
                                          const GRUDirectionWeights& forward,
                                          const GRUDirectionWeights& reverse, Precision precision) {
  DISTGRU_CHECK(rows.dim() == 2 && rows.size(0) > 0,
                "fast_gru: rows must be a non-empty [rows, features] tensor");
  DISTGRU_CHECK(index.dim() == 2 && index.size(0) > 0 && index.size(1) > 0 &&
                    index.scalar_type() == torch::kLong && index.device().is_cpu(),
                "fast_gru: index must be a non-empty [batch, time] int64 CPU tensor");
  const auto [min_index, max_index] = torch::aminmax(index);
  const int64_t lowest = min_index.item<int64_t>(), highest = max_index.item<int64_t>();
  DISTGRU_CHECK(lowest >= 0 && highest < rows.size(0),
                "fast_gru: index holds " + std::to_string(lowest) + ".." + std::to_string(highest) + ", outside the " +
                    std::to_string(rows.size(0)) + " rows");
  const bool bf16 = check_inputs(rows, forward, reverse, precision);
  return FastGRUFunction::apply(rows, index.contiguous(), forward.w_ih, forward.w_hh, forward.b_ih,
                                forward.b_hh, reverse.w_ih, reverse.w_hh, reverse.b_ih, reverse.b_hh, bf16);
}

}  // namespace distgru::model
