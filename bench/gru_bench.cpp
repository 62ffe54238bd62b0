// The GRU alone at one rank's training size, forward and backward timed
// apart, so a regression in the encoder shows without the rest of the step:
// distgru's fast GRU with each way of running its products (ATen's BLAS,
// small CBLAS blocks, oneDNN fp32, oneDNN bf16), ATen's GRU
// (torch::nn::GRU), and oneDNN's own GRU primitive (lbr_gru) in fp32 and
// bf16 -- the measurement issue 16 asks for before keeping a hand-written
// GRU over the library's.

#include <algorithm>
#include <chrono>
#include <ctime>

#include "bench/bench_common.h"
#include "model/fast_gru.h"
#include "model/onednn_gemm.h"
#include "model/step_gemm.h"

namespace distgru::bench {

nlohmann::json run_gru(const Options& o, dist::Communicator& comm) {
  const int64_t batch = (o.batch_size + comm.size() - 1) / comm.size();
  torch::manual_seed(3);
  torch::nn::GRU gru(torch::nn::GRUOptions(o.embed_dim, o.hidden_size).batch_first(true).bidirectional(true));
  auto p = gru->named_parameters();
  const model::GRUDirectionWeights fwd{p["weight_ih_l0"], p["weight_hh_l0"], p["bias_ih_l0"], p["bias_hh_l0"]};
  const model::GRUDirectionWeights rev{p["weight_ih_l0_reverse"], p["weight_hh_l0_reverse"],
                                       p["bias_ih_l0_reverse"], p["bias_hh_l0_reverse"]};
  auto x = torch::randn({batch, o.sentence_size, o.embed_dim}).requires_grad_(true);
  nlohmann::json out = {{"batch_per_rank", batch}, {"onednn_isa", model::onednn_isa()}};

  struct Variant {
    std::string name;
    bool fast;
    model::GruGemm gemm;
    model::Precision precision;
  };
  using model::GruGemm;
  using model::Precision;
  std::vector<Variant> variants = {{"fast_fp32_aten_blas", true, GruGemm::kWhole, Precision::kFloat32}};
  if (model::blocked_gemm_available()) {
    variants.push_back({"fast_fp32_small_blocks", true, GruGemm::kSmallBlocks, Precision::kFloat32});
  }
  if (model::onednn_available()) {
    variants.push_back({"fast_fp32_onednn", true, GruGemm::kOneDnn, Precision::kFloat32});
  }
  if (model::effective_precision(Precision::kBFloat16) == Precision::kBFloat16) {
    variants.push_back({"fast_bf16_onednn", true, GruGemm::kOneDnn, Precision::kBFloat16});
  }
  variants.push_back({"aten", false, GruGemm::kWhole, Precision::kFloat32});
  const GruGemm chosen = model::fast_gru_gemm();
  out["default_gemm"] = chosen == GruGemm::kOneDnn       ? "onednn"
                        : chosen == GruGemm::kSmallBlocks ? "small_blocks"
                                                          : "aten_blas";
  auto wanted = [&](const std::string& name) {
    return o.gru_variants.empty() ||
           std::find(o.gru_variants.begin(), o.gru_variants.end(), name) != o.gru_variants.end();
  };
  for (const auto& v : variants) {
    if (!wanted(v.name)) continue;
    model::set_fast_gru_gemm(v.gemm);
    // CPU seconds beside wall seconds: on a shared machine the CPU time is the
    // steadier measure of the work done.
    std::vector<double> f_s, b_s, f_cpu, b_cpu;
    for (int64_t i = 0; i < o.warmup + o.steps; ++i) {
      auto start = Clock::now();
      auto cpu = std::clock();
      auto y = v.fast ? model::fast_bidirectional_gru(x, fwd, rev, v.precision) : std::get<0>(gru->forward(x));
      const double f = since(start), fc = double(std::clock() - cpu) / CLOCKS_PER_SEC;
      start = Clock::now();
      cpu = std::clock();
      y.sum().backward();
      if (i >= o.warmup) {
        f_s.push_back(f);
        b_s.push_back(since(start));
        f_cpu.push_back(fc);
        b_cpu.push_back(double(std::clock() - cpu) / CLOCKS_PER_SEC);
      }
    }
    out[v.name] = {{"forward_seconds", Stats::of(f_s).to_json()},
                   {"backward_seconds", Stats::of(b_s).to_json()},
                   {"forward_cpu_seconds", Stats::of(f_cpu).to_json()},
                   {"backward_cpu_seconds", Stats::of(b_cpu).to_json()}};
  }
  model::set_fast_gru_gemm(chosen);
  if (wanted("onednn_lbr_gru_fp32")) out["onednn_lbr_gru_fp32"] = run_lbr_gru(o, batch, /*bf16=*/false);
  if (model::onednn_native_bf16() && wanted("onednn_lbr_gru_bf16")) {
    out["onednn_lbr_gru_bf16"] = run_lbr_gru(o, batch, /*bf16=*/true);
  }
  return out;
}

}  // namespace distgru::bench
