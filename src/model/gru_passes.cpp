#include "model/gru_passes.h"

#include <ATen/Parallel.h>

#include <algorithm>
#include <cstring>

#include "common/native.h"
#include "model/gru_products.h"
#include "model/gru_step.h"
#include "model/onednn_gemm.h"

namespace distgru::model::gru_passes {
namespace {

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

// Rows mode (index defined): the n*B rows of a forward block, times
// [t_lo, t_lo + n) in time order and b within each, are rows row_of[b, t]
// of the distinct rows' projections `from` ([U, width]).
template <typename T>
void gather_rows(const T* from, const int64_t* row_of, int64_t t_lo, int64_t n, int64_t B,
                 int64_t steps, int64_t width, T* to) {
  for (int64_t t = t_lo; t < t_lo + n; ++t) {
    for (int64_t b = 0; b < B; ++b) {
      std::memcpy(to + ((t - t_lo) * B + b) * width, from + row_of[b * steps + t] * width,
                  width * sizeof(T));
    }
  }
}

// Backward's counterpart: adds time t's B rows of dgi ([B, width]) to their
// distinct rows' sums `to` ([U, width]), in b order: the sums' bits depend
// only on the data.
template <typename T>
void scatter_add_rows(const T* from, const int64_t* row_of, int64_t t, int64_t B, int64_t steps,
                      int64_t width, T* to) {
  for (int64_t b = 0; b < B; ++b) {
    T* dst = to + row_of[b * steps + t] * width;
    const T* src = from + b * width;
#pragma GCC ivdep
    for (int64_t j = 0; j < width; ++j) dst[j] += src[j];
  }
}

}  // namespace

template <typename T>
void run_forward(const Tensor& x1, const Tensor& index, const std::array<Tensor, 2>& w_ih_t,
                 const std::array<GRUDirectionWeights, 2>& w, Tensor& gates, Tensor& states,
                 Tensor& out, const Tensor& states_bf16) {
  const int64_t steps = gates.size(1), B = gates.size(3), H = gates.size(4), E = x1.size(1) - 1;
  const bool bf16 = states_bf16.defined();
  const bool rows = index.defined();
  const int64_t* row_of = rows ? index.data_ptr<int64_t>() : nullptr;  // [B, T]
  for_each_direction([&](int d) {
    // Each distinct row's input projection, once: [U, 3H].
    Tensor gi_rows;
    if (rows) {
      gi_rows = torch::empty({x1.size(0), 3 * H}, out.options());
      gru_product(x1.narrow(1, 0, E), w_ih_t[d], gi_rows, /*accumulate=*/false);
    }
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
        if (rows) {
          gather_rows(gi_rows.template data_ptr<T>(), row_of, t_lo, n, B, steps, 3 * H,
                      gi.template data_ptr<T>());
        } else {
          auto gi_block = gi.narrow(0, 0, n * B);
          gru_product(x1.narrow(0, t_lo * B, n * B).narrow(1, 0, E), w_ih_t[d], gi_block,
                      /*accumulate=*/false);
        }
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

template <typename T>
void run_backward(const Tensor& dy, const Tensor& x1, const Tensor& index, const std::array<Tensor, 2>& w_ih,
                  const std::array<Tensor, 2>& w_hh, const Tensor& gates, const Tensor& states,
                  const Tensor& states_bf16, bool need_dx, GruGrads& grads) {
  const int64_t steps = gates.size(1), B = gates.size(3), H = gates.size(4);
  const bool bf16 = states_bf16.defined();
  const bool rows = index.defined();
  const int64_t* row_of = rows ? index.data_ptr<int64_t>() : nullptr;  // [B, T]
  for_each_direction([&](int d) {
    // With rows: dgi summed per distinct row, [U, 3H], in float.
    Tensor dgi_rows = rows ? torch::zeros({x1.size(0), 3 * H}, dy.options()) : Tensor();
    StepProduct recurrent_product(w_hh[d], B, /*lda=*/3 * H, /*accumulate=*/true);  // carry += dgh W_hh
    auto dh_next = torch::zeros({B, H}, dy.options());
    auto carry = torch::empty({B, H}, dy.options());
    const T* gates_d = gates.select(0, d).template data_ptr<T>();
    const T* states_d = states.select(0, d).template data_ptr<T>();
    const auto& h_prev_all = bf16 ? states_bf16.select(0, d) : states.select(0, d);  // [T+1, B, H]
    // One block: dgi's rows in time order (x1's), dgh's in step order (the states').
    const auto block_options = bf16 ? dy.options().dtype(torch::kBFloat16) : dy.options();
    auto dgi = rows ? Tensor() : torch::empty({kBlockSteps * B, 3 * H}, block_options);
    auto dgh = torch::empty({kBlockSteps * B, 3 * H}, block_options);
    Tensor step_dgi = bf16 || rows ? torch::empty({B, 3 * H}, dy.options()) : Tensor();
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
        T* dgi_s = bf16 || rows ? step_dgi.template data_ptr<T>()
                                : dgi.template data_ptr<T>() + (t - t_lo) * B * 3 * H;
        T* dgh_s = bf16 ? step_dgh.template data_ptr<T>()
                        : dgh.template data_ptr<T>() + (s - s_lo) * B * 3 * H;
        step_backward<T>(B, H, dy_d + t * 2 * H, steps * 2 * H, dh_next.template data_ptr<T>(), g,
                         g + B * H, g + 2 * B * H, g + 3 * B * H, states_d + s * step_states, dgi_s,
                         3 * H, dgh_s, carry.template data_ptr<T>());
        if (bf16) {
          to_bfloat16(reinterpret_cast<const float*>(dgh_s), 3 * H,
                      bf16_data(dgh) + (s - s_lo) * B * 3 * H, 3 * H, B, 3 * H);
          if (!rows) {
            to_bfloat16(reinterpret_cast<const float*>(dgi_s), 3 * H,
                        bf16_data(dgi) + (t - t_lo) * B * 3 * H, 3 * H, B, 3 * H);
          }
        }
        if (rows) scatter_add_rows(dgi_s, row_of, t, B, steps, 3 * H, dgi_rows.template data_ptr<T>());
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
      auto dgh_block = dgh.narrow(0, 0, n * B);
      const bool first = block == blocks - 1;
      if (!rows) {
        auto dgi_block = dgi.narrow(0, 0, n * B);
        if (need_dx) {
          auto dx_block = dx.narrow(0, t_lo * B, n * B);
          gru_product(dgi_block, w_ih[d], dx_block, /*accumulate=*/false);
        }
        gru_product(x1.narrow(0, t_lo * B, n * B).t(), dgi_block, dw_ih1, /*accumulate=*/!first);
      }
      gru_product(h_prev_all.narrow(0, s_lo, n).reshape({n * B, H}).t(), dgh_block, dw_hh,
                  /*accumulate=*/!first);
    }
    if (rows) {
      // The input side once per distinct row: x1's U rows instead of T*B.
      const auto dgi_operand = bf16 ? bfloat16_copy(dgi_rows) : dgi_rows;
      if (need_dx) gru_product(dgi_operand, w_ih[d], dx, /*accumulate=*/false);
      gru_product(x1.t(), dgi_operand, dw_ih1, /*accumulate=*/false);
    }
  });
}

int64_t padded_width(int64_t E) { return (E + 15) / 16 * 16; }

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

template void run_forward<float>(const Tensor&, const Tensor&, const std::array<Tensor, 2>&,
                                 const std::array<GRUDirectionWeights, 2>&, Tensor&, Tensor&, Tensor&,
                                 const Tensor&);
template void run_forward<double>(const Tensor&, const Tensor&, const std::array<Tensor, 2>&,
                                  const std::array<GRUDirectionWeights, 2>&, Tensor&, Tensor&, Tensor&,
                                  const Tensor&);
template void run_backward<float>(const Tensor&, const Tensor&, const Tensor&, const std::array<Tensor, 2>&,
                                  const std::array<Tensor, 2>&, const Tensor&, const Tensor&, const Tensor&,
                                  bool, GruGrads&);
template void run_backward<double>(const Tensor&, const Tensor&, const Tensor&, const std::array<Tensor, 2>&,
                                   const std::array<Tensor, 2>&, const Tensor&, const Tensor&, const Tensor&,
                                   bool, GruGrads&);
template Tensor sum_directions_batch_first<float>(const Tensor&, int64_t, int64_t, int64_t);
template Tensor sum_directions_batch_first<double>(const Tensor&, int64_t, int64_t, int64_t);

}  // namespace distgru::model::gru_passes
