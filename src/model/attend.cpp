#include "model/attend.h"

#include <ATen/Parallel.h>

#include <algorithm>
#include <cmath>
#include <limits>
#include <vector>

#include "common/error.h"
#include "model/fast_gru.h"
#include "model/onednn_gemm.h"

namespace distgru::model {
namespace {

using torch::Tensor;
using torch::autograd::AutogradContext;
using torch::autograd::variable_list;

// The score of a padded step: a large finite negative rather than -inf, so
// that a review of only padding gets uniform weights instead of NaN.
constexpr float kPaddedScore = -1e9f;

// x . y over n floats, in 16 running sums (one vector register) added at the
// end: a fixed order, so the same inputs give the same bits, that the
// compiler vectorises (a single running sum it may not reorder).
inline float dot(const float* x, const float* y, int64_t n) {
  float acc[16] = {};
  int64_t i = 0;
  for (; i + 16 <= n; i += 16) {
    for (int k = 0; k < 16; ++k) acc[k] += x[i + k] * y[i + k];
  }
  float sum = 0;
  for (; i < n; ++i) sum += x[i] * y[i];
  for (int k = 0; k < 16; ++k) sum += acc[k];
  return sum;
}

// For t in order: y_t += w[t] x_t over n floats, where row t of y and x
// starts t * y_ld and t * x_ld floats in (a stride of 0 repeats one row):
// the weighted sum forward (y one context row, x the states) and the
// states' gradient backward (y the states' gradient, x one context
// gradient row).
void add_scaled_rows(const float* w, const float* x, int64_t rows, int64_t n, float* y, int64_t y_ld,
                     int64_t x_ld) {
  for (int64_t t = 0; t < rows; ++t) {
    const float wt = w[t];
    float* out = y + t * y_ld;
    const float* in = x + t * x_ld;
    for (int64_t k = 0; k < n; ++k) out[k] += wt * in[k];
  }
}

// Back through the score layer and the ReLU for one review's T steps:
// dh[t, :] = ds_t w2 where the ReLU's input h was positive, else 0 (as
// ATen's threshold_backward); the parameters' gradients add to dw2, db1 and
// db2. The restrict pointers let the sums stay in registers.
void score_layer_backward(const float* __restrict h, const float* __restrict ds, const float* __restrict w2,
                          int64_t T, int64_t A, float* __restrict dh, float* __restrict dw2, float* __restrict db1,
                          float& db2) {
  for (int64_t t = 0; t < T; ++t) {
    const float* __restrict ht = h + t * A;
    float* __restrict g = dh + t * A;
    const float dst = ds[t];
    db2 += dst;
    for (int64_t j = 0; j < A; ++j) {
      dw2[j] += dst * std::max(ht[j], 0.0f);
      g[j] = ht[j] > 0.0f ? dst * w2[j] : 0.0f;
      db1[j] += g[j];
    }
  }
}

// Sizes, shared by forward and backward: B reviews of T steps, D = 2H state
// features, A attention units.
struct Dims {
  int64_t B, T, D, A;
};

// One product through oneDNN on raw rows: C[m,n] = A[m,k] B[k,n] (+ C).
// a_t / b_t: the operand is stored transposed ([k,m] / [n,k]).
void product(int64_t m, int64_t n, int64_t k, const void* a, int64_t lda, bool a_t, const void* b,
             int64_t ldb, bool b_t, float* c, bool accumulate, bool bf16) {
  GemmShape s;
  s.m = m;
  s.n = n;
  s.k = k;
  s.a_transposed = a_t;
  s.lda = lda;
  s.b_transposed = b_t;
  s.ldb = ldb;
  s.ldc = n;
  s.accumulate = accumulate;
  s.input = bf16 ? GemmInput::kBFloat16 : GemmInput::kFloat32;
  onednn_gemm(s, a, b, c);
}

// Runs fn(chunk, begin, end) over `chunks` fixed, contiguous ranges of the B
// reviews, on torch's intra-op threads. The ranges depend on the thread
// count only, never on the schedule, so each chunk's partial sums (backward)
// and their order are the same from run to run.
template <typename Fn>
void for_review_chunks(int64_t B, int64_t chunks, const Fn& fn) {
  at::parallel_for(0, chunks, 1, [&](int64_t lo, int64_t hi) {
    for (int64_t c = lo; c < hi; ++c) fn(c, B * c / chunks, B * (c + 1) / chunks);
  });
}

int64_t chunk_count(int64_t B) {
  if (at::in_parallel_region()) return 1;
  return std::max<int64_t>(1, std::min<int64_t>(at::get_num_threads(), B));
}

// The operand the products read for a float block: itself in fp32, its
// bfloat16 copy (in `scratch`) in bf16.
const void* operand(const float* x, int64_t n, bool bf16, std::vector<uint16_t>& scratch) {
  if (!bf16) return x;
  scratch.resize(n);
  to_bfloat16(x, 0, scratch.data(), 0, 1, n);
  return scratch.data();
}

class AttendFunction : public torch::autograd::Function<AttendFunction> {
 public:
  // padding: bool [B, T], or empty for none (autograd takes no undefined
  // inputs). Returns {context [B, D], weights [B, T]}.
  static variable_list forward(AutogradContext* ctx, const Tensor& states_in, const Tensor& w1_in,
                               const Tensor& b1_in, const Tensor& w2_in, const Tensor& b2_in,
                               const Tensor& padding, bool bf16) {
    const auto states = states_in.contiguous();
    const auto w1 = w1_in.contiguous(), b1 = b1_in.contiguous(), w2 = w2_in.contiguous();
    const Dims d{states.size(0), states.size(1), states.size(2), w1.size(0)};
    const auto w1s = bf16 ? bfloat16_copy(w1) : w1;
    auto hidden = torch::empty({d.B, d.T, d.A}, states.options());  // before the ReLU, kept for backward
    auto weights = torch::empty({d.B, d.T}, states.options());
    auto context = torch::empty({d.B, d.D}, states.options());
    const float b2 = b2_in.item<float>();
    const bool* pad = padding.numel() > 0 ? padding.data_ptr<bool>() : nullptr;
    const float *S_all = states.data_ptr<float>(), *bias = b1.data_ptr<float>(), *v2 = w2.data_ptr<float>();
    float *H_all = hidden.data_ptr<float>(), *w_all = weights.data_ptr<float>(), *c_all = context.data_ptr<float>();
    for_review_chunks(d.B, chunk_count(d.B), [&](int64_t, int64_t lo, int64_t hi) {
      std::vector<uint16_t> states_bf16;
      std::vector<float> scores(d.T);
      for (int64_t b = lo; b < hi; ++b) {
        const float* S = S_all + b * d.T * d.D;
        float* Hb = H_all + b * d.T * d.A;
        for (int64_t t = 0; t < d.T; ++t) std::copy_n(bias, d.A, Hb + t * d.A);
        // hidden = b1 + S W1^T: W1 [A, D] is the transposed storage of [D, A].
        product(d.T, d.A, d.D, operand(S, d.T * d.D, bf16, states_bf16), d.D, false, w1s.data_ptr(), d.D,
                true, Hb, /*accumulate=*/true, bf16);
        float top = -std::numeric_limits<float>::infinity();
        for (int64_t t = 0; t < d.T; ++t) {
          const float* h = Hb + t * d.A;
          float s = b2;
          for (int64_t j = 0; j < d.A; ++j) s += std::max(h[j], 0.0f) * v2[j];
          scores[t] = pad && pad[b * d.T + t] ? kPaddedScore : s;
          top = std::max(top, scores[t]);
        }
        float* w = w_all + b * d.T;
        float total = 0;
        for (int64_t t = 0; t < d.T; ++t) total += (w[t] = std::exp(scores[t] - top));
        for (int64_t t = 0; t < d.T; ++t) w[t] /= total;
        float* c = c_all + b * d.D;
        std::fill_n(c, d.D, 0.0f);
        add_scaled_rows(w, S, d.T, d.D, c, /*y_ld=*/0, /*x_ld=*/d.D);  // c += w_t S_t, t in order
      }
    });
    ctx->save_for_backward({states, w1, w2, hidden, weights});
    ctx->saved_data["padding"] = padding;
    ctx->saved_data["bf16"] = bf16;
    return {context, weights};
  }

  static variable_list backward(AutogradContext* ctx, variable_list grad_out) {
    const auto saved = ctx->get_saved_variables();
    const auto &states = saved[0], &w1 = saved[1], &w2 = saved[2], &hidden = saved[3], &weights = saved[4];
    const auto padding = ctx->saved_data["padding"].toTensor();
    const bool bf16 = ctx->saved_data["bf16"].toBool();
    const Dims d{states.size(0), states.size(1), states.size(2), w1.size(0)};
    const auto f32 = states.options();
    // Autograd hands an unused output's gradient over as zeros (LibTorch
    // materializes them unless a function turns that off; this one does not).
    const auto d_context = grad_out[0].contiguous(), d_weights = grad_out[1].contiguous();
    const auto w1s = bf16 ? bfloat16_copy(w1) : w1;
    const bool* pad = padding.numel() > 0 ? padding.data_ptr<bool>() : nullptr;

    // Each chunk of reviews sums its share of the parameters' gradients into
    // its own row; the rows are added in chunk order at the end.
    const int64_t chunks = chunk_count(d.B);
    auto d_states = torch::empty({d.B, d.T, d.D}, f32);
    auto d_w1 = torch::empty({chunks, d.A, d.D}, f32);
    auto d_b1 = torch::zeros({chunks, d.A}, f32), d_w2 = torch::zeros({chunks, d.A}, f32);
    auto d_b2 = torch::zeros({chunks}, f32);
    const float *S_all = states.data_ptr<float>(), *H_all = hidden.data_ptr<float>(),
                *w_all = weights.data_ptr<float>(), *v2 = w2.data_ptr<float>(), *dc_all = d_context.data_ptr<float>();
    const float* dw_all = d_weights.data_ptr<float>();
    float* dS_all = d_states.data_ptr<float>();
    // chunk_count() never makes a chunk without reviews: every d_w1 row is written.
    for_review_chunks(d.B, chunks, [&](int64_t chunk, int64_t lo, int64_t hi) {
      std::vector<uint16_t> states_bf16, dh_bf16;
      std::vector<float> ds(d.T), dh(d.T * d.A);
      // The chunk's sums stay in its own memory until the end: the chunks'
      // rows of d_b1, d_w2 and d_b2 share cache lines.
      std::vector<float> db1(d.A, 0.0f), dw2(d.A, 0.0f);
      float db2 = 0;
      float* dw1 = d_w1.data_ptr<float>() + chunk * d.A * d.D;
      for (int64_t b = lo; b < hi; ++b) {
        const float* S = S_all + b * d.T * d.D;
        const float* dc = dc_all + b * d.D;
        const float* w = w_all + b * d.T;
        const float* Hb = H_all + b * d.T * d.A;
        // The weights' gradient (context = sum_t w_t S_t), then the softmax's:
        // ds_t = w_t (g_t - sum_u w_u g_u); a padded step's score is a
        // constant, so its gradient is zero.
        float mean = 0;
        for (int64_t t = 0; t < d.T; ++t) {
          ds[t] = dot(S + t * d.D, dc, d.D) + dw_all[b * d.T + t];
          mean += w[t] * ds[t];
        }
        for (int64_t t = 0; t < d.T; ++t) {
          ds[t] = pad && pad[b * d.T + t] ? 0.0f : w[t] * (ds[t] - mean);
        }
        score_layer_backward(Hb, ds.data(), v2, d.T, d.A, dh.data(), dw2.data(), db1.data(), db2);
        const void* dh_op = operand(dh.data(), d.T * d.A, bf16, dh_bf16);
        // W1's gradient, dh^T S ([A, T] x [T, D]; dh [T, A] is its transposed storage).
        product(d.A, d.D, d.T, dh_op, d.A, true, operand(S, d.T * d.D, bf16, states_bf16), d.D, false,
                dw1, /*accumulate=*/b != lo, bf16);
        // The states' gradient from both uses, written once: dh W1 + w_t dc.
        float* dS = dS_all + b * d.T * d.D;
        product(d.T, d.D, d.A, dh_op, d.A, false, w1s.data_ptr(), d.D, false, dS, /*accumulate=*/false, bf16);
        add_scaled_rows(w, dc, d.T, d.D, dS, /*y_ld=*/d.D, /*x_ld=*/0);  // dS_t += w_t dc
      }
      std::copy(db1.begin(), db1.end(), d_b1.data_ptr<float>() + chunk * d.A);
      std::copy(dw2.begin(), dw2.end(), d_w2.data_ptr<float>() + chunk * d.A);
      d_b2.data_ptr<float>()[chunk] = db2;
    });
    return {d_states,         d_w1.sum(0),   d_b1.sum(0), d_w2.sum(0).unsqueeze(0),
            d_b2.sum(0).view({1}), Tensor(), Tensor()};
  }
};

bool fused_applies(const torch::Tensor& states) {
  return onednn_available() && states.device().is_cpu() && states.scalar_type() == torch::kFloat;
}

}  // namespace

Attended attend_reference(const torch::Tensor& states, const torch::Tensor& padding,
                          const AttentionParameters& p) {
  const auto hidden = torch::linear(states, p.w1, p.b1);
  auto scores = torch::linear(torch::relu(hidden), p.w2, p.b2).squeeze(-1);  // [B, T]
  if (padding.defined()) scores = scores.masked_fill(padding, kPaddedScore);
  auto weights = torch::softmax(scores, /*dim=*/1);
  auto context = torch::bmm(weights.unsqueeze(1), states).squeeze(1);  // [B, 2H]
  return {context, weights};
}

Attended attend(const torch::Tensor& states, const torch::Tensor& padding, const AttentionParameters& p,
                Precision precision, bool fused) {
  DISTGRU_CHECK(states.dim() == 3 && states.size(0) > 0 && states.size(1) > 0,
                "attend: states must be a non-empty [batch, time, features] tensor");
  const int64_t D = states.size(2);
  const int64_t A = p.w1.dim() == 2 ? p.w1.size(0) : -1;
  DISTGRU_CHECK(p.w1.dim() == 2 && p.w1.size(1) == D && p.b1.sizes() == torch::IntArrayRef({A}) &&
                    p.w2.sizes() == torch::IntArrayRef({1, A}) && p.b2.sizes() == torch::IntArrayRef({1}),
                "attend: parameters do not fit states of " + std::to_string(D) + " features (w1 [A, " +
                    std::to_string(D) + "], b1 [A], w2 [1, A], b2 [1])");
  for (const auto* t : {&p.w1, &p.b1, &p.w2, &p.b2}) {
    DISTGRU_CHECK(t->scalar_type() == states.scalar_type() && t->device() == states.device(),
                  "attend: parameters must have the states' dtype and device");
  }
  DISTGRU_CHECK(!padding.defined() || (padding.scalar_type() == torch::kBool &&
                                       padding.sizes() == states.sizes().slice(0, 2)),
                "attend: padding must be a bool [batch, time] mask");
  if (!fused) return attend_reference(states, padding, p);  // float32 products, whatever precision says
  const bool bf16 = precision == Precision::kBFloat16;
  if (!fused_applies(states)) {
    DISTGRU_CHECK(!bf16 || !states.device().is_cpu(), "attend: bf16 products need oneDNN and float32 CPU tensors");
    return attend_reference(states, padding, p);
  }
  DISTGRU_CHECK(!bf16 || effective_precision(precision) == Precision::kBFloat16,
                "attend: bf16 products are not available here (see effective_precision)");
  const auto out = AttendFunction::apply(states, p.w1, p.b1, p.w2, p.b2,
                                         padding.defined() ? padding.contiguous() : torch::empty({0}, torch::kBool),
                                         bf16);
  return {out[0], out[1]};
}

}  // namespace distgru::model
