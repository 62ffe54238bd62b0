// oneDNN's own GRU, the "lbr_gru" RNN primitive (linear-before-reset: the
// GRU of PyTorch and of distgru's fast GRU), forward-training and backward,
// bidirectional, at one rank's training size: what the library would give
// if distgru used it instead of its own GRU (issue 16 asks to keep the
// faster per precision). Timing only: the weights are random and laid out in
// whatever format oneDNN prefers, as an integration would reorder them once.

#include <chrono>
#include <cstring>
#include <random>

#include "bench/bench_common.h"
#include "model/onednn_gemm.h"

#ifdef DISTGRU_HAVE_ONEDNN
#include <oneapi/dnnl/dnnl.hpp>
#endif

namespace distgru::bench {

#ifdef DISTGRU_HAVE_ONEDNN
namespace {


// Small random values of the memory's type (f32 or bf16), whatever its layout.
void fill(dnnl::memory& m, std::mt19937& rng) {
  const auto desc = m.get_desc();
  std::uniform_real_distribution<float> u(-0.1f, 0.1f);
  if (desc.data_type() == dnnl::memory::data_type::bf16) {
    const size_t n = desc.get_size() / 2;
    std::vector<float> values(n);
    for (auto& v : values) v = u(rng);
    model::to_bfloat16(values.data(), 0, static_cast<uint16_t*>(m.get_data_handle()), 0, 1,
                       static_cast<int64_t>(n));
  } else {
    auto* p = static_cast<float*>(m.get_data_handle());
    for (size_t i = 0; i < desc.get_size() / 4; ++i) p[i] = u(rng);
  }
}

nlohmann::json time_lbr_gru(const Options& o, int64_t batch, bool bf16) {
  using dnnl::memory;
  using dt = memory::data_type;
  using tag = memory::format_tag;
  const int64_t T = o.sentence_size, C = o.embed_dim, H = o.hidden_size, L = 1, D = 2, G = 3;
  const dt type = bf16 ? dt::bf16 : dt::f32;
  dnnl::engine engine(dnnl::engine::kind::cpu, 0);
  dnnl::stream stream(engine);
  const memory::desc src({T, batch, C}, type, tag::tnc), dst({T, batch, 2 * H}, type, tag::tnc);
  const memory::desc wl({L, D, C, G, H}, type, tag::any), wi({L, D, H, G, H}, type, tag::any);
  const memory::desc bias({L, D, G + 1, H}, dt::f32, tag::ldgo), none;
  // bf16 backward: oneDNN 2.6 takes bf16 data but float32 data gradients
  // and weight gradients (other combinations are refused).
  const memory::desc dwl({L, D, C, G, H}, dt::f32, tag::any), dwi({L, D, H, G, H}, dt::f32, tag::any);
  const memory::desc dsrc({T, batch, C}, dt::f32, tag::tnc), ddst({T, batch, 2 * H}, dt::f32, tag::tnc);
  const auto direction = dnnl::rnn_direction::bidirectional_concat;
  const dnnl::lbr_gru_forward::primitive_desc fpd(
      dnnl::lbr_gru_forward::desc(dnnl::prop_kind::forward_training, direction, src, none, wl, wi,
                                  bias, dst, none),
      engine);
  const dnnl::lbr_gru_backward::primitive_desc bpd(
      dnnl::lbr_gru_backward::desc(dnnl::prop_kind::backward, direction, src, none, wl, wi, bias, dst,
                                   none, dsrc, none, dwl, dwi, bias, ddst, none),
      engine, fpd);
  memory S(src, engine), Y(dst, engine), Wl(fpd.weights_layer_desc(), engine),
      Wi(fpd.weights_iter_desc(), engine), B(bias, engine), WS(fpd.workspace_desc(), engine),
      bWl(bpd.weights_layer_desc(), engine), bWi(bpd.weights_iter_desc(), engine),
      dS(dsrc, engine), dY(ddst, engine), dWl(bpd.diff_weights_layer_desc(), engine),
      dWi(bpd.diff_weights_iter_desc(), engine), dB(bias, engine);
  std::mt19937 rng(5);
  for (memory* m : {&S, &Wl, &Wi, &B, &bWl, &bWi, &dY}) fill(*m, rng);
  const dnnl::lbr_gru_forward forward(fpd);
  const dnnl::lbr_gru_backward backward(bpd);
  std::vector<double> f_s, b_s;
  for (int64_t i = 0; i < o.warmup + o.steps; ++i) {
    // oneDNN accumulates weight gradients: zero them as a training step would.
    for (memory* m : {&dWl, &dWi, &dB}) std::memset(m->get_data_handle(), 0, m->get_desc().get_size());
    auto start = Clock::now();
    forward.execute(stream, {{DNNL_ARG_SRC_LAYER, S}, {DNNL_ARG_WEIGHTS_LAYER, Wl},
                             {DNNL_ARG_WEIGHTS_ITER, Wi}, {DNNL_ARG_BIAS, B},
                             {DNNL_ARG_DST_LAYER, Y}, {DNNL_ARG_WORKSPACE, WS}});
    stream.wait();
    const double f = since(start);
    start = Clock::now();
    backward.execute(stream, {{DNNL_ARG_SRC_LAYER, S}, {DNNL_ARG_WEIGHTS_LAYER, bWl},
                              {DNNL_ARG_WEIGHTS_ITER, bWi}, {DNNL_ARG_BIAS, B},
                              {DNNL_ARG_DST_LAYER, Y}, {DNNL_ARG_WORKSPACE, WS},
                              {DNNL_ARG_DIFF_SRC_LAYER, dS}, {DNNL_ARG_DIFF_WEIGHTS_LAYER, dWl},
                              {DNNL_ARG_DIFF_WEIGHTS_ITER, dWi}, {DNNL_ARG_DIFF_BIAS, dB},
                              {DNNL_ARG_DIFF_DST_LAYER, dY}});
    stream.wait();
    if (i >= o.warmup) {
      f_s.push_back(f);
      b_s.push_back(since(start));
    }
  }
  return {{"forward_seconds", Stats::of(f_s).to_json()},
          {"backward_seconds", Stats::of(b_s).to_json()},
          {"implementation", std::string(fpd.impl_info_str()) + " / " + bpd.impl_info_str()}};
}

}  // namespace

nlohmann::json run_lbr_gru(const Options& o, int64_t batch, bool bf16) {
  try {
    return time_lbr_gru(o, batch, bf16);
  } catch (const dnnl::error& e) {
    return {{"error", e.what()}};
  }
}

#else

nlohmann::json run_lbr_gru(const Options&, int64_t, bool) { return {{"error", "built without oneDNN"}}; }

#endif

}  // namespace distgru::bench
