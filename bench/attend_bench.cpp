// The attention stage alone (model/attend.h) at one rank's training size,
// forward and backward timed apart: distgru's review-by-review function in
// fp32 (and bf16 where the CPU multiplies it natively) against the same
// stage op by op in ATen, the way distgru ran it before and PyTorch runs it.
// The variants take turns within each iteration, so a change in the
// machine's load (a shared host) falls on all of them alike.

#include <chrono>

#include "bench/bench_common.h"
#include "model/attend.h"
#include "model/fast_gru.h"

namespace distgru::bench {

nlohmann::json run_attend(const Options& o, dist::Communicator& comm) {
  const int64_t batch = (o.batch_size + comm.size() - 1) / comm.size();
  const int64_t T = o.sentence_size, D = 2 * o.hidden_size, A = o.attention_size;
  torch::manual_seed(5);
  auto states = torch::randn({batch, T, D}).requires_grad_(true);
  // Reviews of random lengths, padded to T as the prepared data is.
  const auto lengths = torch::randint(T / 4, T + 1, {batch, 1});
  const auto padding = torch::arange(T).unsqueeze(0).ge(lengths);
  torch::nn::Linear hidden(D, A), score(A, 1);
  const model::AttentionParameters p{hidden->weight, hidden->bias, score->weight, score->bias};
  const auto d_context = torch::randn({batch, D});

  struct Variant {
    std::string name;
    bool fused;
    model::Precision precision;
    std::vector<double> forward, backward;
  };
  std::vector<Variant> variants = {{"aten", false, model::Precision::kFloat32, {}, {}},
                                    {"fused_fp32", true, model::Precision::kFloat32, {}, {}}};
  if (model::effective_precision(model::Precision::kBFloat16) == model::Precision::kBFloat16) {
    variants.push_back({"fused_bf16", true, model::Precision::kBFloat16, {}, {}});
  }
  for (int64_t i = 0; i < o.warmup + o.steps; ++i) {
    for (auto& v : variants) {
      // Fresh gradients each time: accumulating into the last ones would add
      // a pass over the states' gradient that the training step does not make.
      for (const torch::Tensor& t : {states, p.w1, p.b1, p.w2, p.b2}) t.mutable_grad() = torch::Tensor();
      auto start = Clock::now();
      const auto out = model::attend(states, padding, p, v.precision, v.fused);
      const double f = since(start);
      start = Clock::now();
      (out.context * d_context).sum().backward();
      if (i >= o.warmup) {
        v.forward.push_back(f);
        v.backward.push_back(since(start));
      }
    }
  }
  nlohmann::json out = {{"batch_per_rank", batch}};
  for (const auto& v : variants) {
    out[v.name] = {{"forward_seconds", Stats::of(v.forward).to_json()},
                   {"backward_seconds", Stats::of(v.backward).to_json()}};
  }
  return out;
}

}  // namespace distgru::bench
