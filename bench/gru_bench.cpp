// The GRU alone at one rank's training size: distgru's fast GRU against
// ATen's (torch::nn::GRU), forward and backward timed apart, so a regression
// in the encoder shows without the rest of the step.

#include <chrono>
#include <ctime>

#include "bench/bench_common.h"
#include "model/fast_gru.h"

namespace distgru::bench {
namespace {

using Clock = std::chrono::steady_clock;
double since(Clock::time_point t) { return std::chrono::duration<double>(Clock::now() - t).count(); }

}  // namespace

nlohmann::json run_gru(const Options& o, dist::Communicator& comm) {
  const int64_t batch = (o.batch_size + comm.size() - 1) / comm.size();
  torch::manual_seed(3);
  torch::nn::GRU gru(torch::nn::GRUOptions(o.embed_dim, o.hidden_size).batch_first(true).bidirectional(true));
  auto p = gru->named_parameters();
  const model::GRUDirectionWeights fwd{p["weight_ih_l0"], p["weight_hh_l0"], p["bias_ih_l0"], p["bias_hh_l0"]};
  const model::GRUDirectionWeights rev{p["weight_ih_l0_reverse"], p["weight_hh_l0_reverse"],
                                       p["bias_ih_l0_reverse"], p["bias_hh_l0_reverse"]};
  auto x = torch::randn({batch, o.sentence_size, o.embed_dim}).requires_grad_(true);
  nlohmann::json out = {{"batch_per_rank", batch}};
  for (const bool fast : {true, false}) {
    // CPU seconds beside wall seconds: on a shared machine the CPU time is the
    // steadier measure of the work done.
    std::vector<double> f_s, b_s, f_cpu, b_cpu;
    for (int64_t i = 0; i < o.warmup + o.steps; ++i) {
      auto start = Clock::now();
      auto cpu = std::clock();
      auto y = fast ? model::fast_bidirectional_gru(x, fwd, rev) : std::get<0>(gru->forward(x));
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
    out[fast ? "fast" : "aten"] = {{"forward_seconds", Stats::of(f_s).to_json()},
                                   {"backward_seconds", Stats::of(b_s).to_json()},
                                   {"forward_cpu_seconds", Stats::of(f_cpu).to_json()},
                                   {"backward_cpu_seconds", Stats::of(b_cpu).to_json()}};
  }
  return out;
}

}  // namespace distgru::bench
