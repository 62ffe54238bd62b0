#include "train/adam_update.h"

#include <ATen/Parallel.h>

#include <cmath>
#include <limits>
#include <sstream>
#include <string>
#include <type_traits>

#include "common/error.h"

namespace distgru::train {
namespace {

// The optimizer's key for a parameter's state: LibTorch 1.13 prints the
// TensorImpl's address into a string; later versions key by the address.
template <typename Map>
typename Map::key_type state_key(const Map&, const torch::Tensor& p) {
  using Key = typename Map::key_type;
  if constexpr (std::is_same_v<Key, std::string>) {
    std::ostringstream os;  // c10::guts::to_string's format: the address as ostream prints a pointer
    os << static_cast<const void*>(p.unsafeGetTensorImpl());
    return os.str();
  } else {
    return reinterpret_cast<Key>(p.unsafeGetTensorImpl());
  }
}

bool fusable(const torch::Tensor& p) {
  const auto& g = p.grad();
  return p.device().is_cpu() && p.scalar_type() == torch::kFloat && p.is_contiguous() && !g.is_sparse() &&
         g.scalar_type() == torch::kFloat && g.is_contiguous() && g.sizes() == p.sizes();
}

// The loop itself; this file is built with -fno-math-errno so that sqrt
// vectorises (CMakeLists.txt).
void update(float* p, const float* g, float* m, float* v, int64_t n, float beta1, float one_minus_beta1,
            float beta2, float one_minus_beta2, float sqrt_bias_correction2, float eps, float neg_step) {
  at::parallel_for(0, n, 1 << 15, [&](int64_t begin, int64_t end) {
    for (int64_t i = begin; i < end; ++i) {
      const float gi = g[i];
      const float mi = m[i] * beta1 + one_minus_beta1 * gi;
      const float vi = v[i] * beta2 + one_minus_beta2 * gi * gi;
      m[i] = mi;
      v[i] = vi;
      p[i] += neg_step * mi / (std::sqrt(vi) / sqrt_bias_correction2 + eps);
    }
  });
}

}  // namespace

torch::optim::AdamParamState* adam_state(torch::optim::Adam& optimizer, const torch::Tensor& p) {
  auto& states = optimizer.state();
  const auto it = states.find(state_key(states, p));
  return it == states.end() ? nullptr : static_cast<torch::optim::AdamParamState*>(it->second.get());
}

void adam_update(torch::optim::Adam& optimizer) {
  torch::NoGradGuard no_grad;
  for (const auto& group : optimizer.param_groups()) {
    const auto& o = static_cast<const torch::optim::AdamOptions&>(group.options());
    bool fused = !o.amsgrad() && o.weight_decay() == 0;
    for (const auto& p : group.params()) fused = fused && (!p.grad().defined() || fusable(p));
    if (!fused) {
      optimizer.step();
      return;
    }
  }
  auto& states = optimizer.state();
  for (auto& group : optimizer.param_groups()) {
    const auto& o = static_cast<const torch::optim::AdamOptions&>(group.options());
    const double beta1 = std::get<0>(o.betas()), beta2 = std::get<1>(o.betas());
    for (auto& p : group.params()) {
      if (!p.grad().defined()) continue;
      auto& slot = states[state_key(states, p)];
      if (!slot) {
        auto fresh = std::make_unique<torch::optim::AdamParamState>();
        fresh->step(0);
        fresh->exp_avg(torch::zeros_like(p, torch::MemoryFormat::Preserve));
        fresh->exp_avg_sq(torch::zeros_like(p, torch::MemoryFormat::Preserve));
        slot = std::move(fresh);
      }
      auto& state = static_cast<torch::optim::AdamParamState&>(*slot);
      auto& m = state.exp_avg();
      auto& v = state.exp_avg_sq();
      DISTGRU_CHECK(m.is_contiguous() && v.is_contiguous() && m.sizes() == p.sizes() && v.sizes() == p.sizes() &&
                        m.scalar_type() == torch::kFloat && v.scalar_type() == torch::kFloat &&
                        m.device() == p.device() && v.device() == p.device(),
                    "Adam: the moments saved for a parameter of " + std::to_string(p.numel()) +
                        " elements do not match it (an optimizer state of another model?)");
      const int64_t step = state.step() + 1;
      const double bias_correction1 = 1 - std::pow(beta1, static_cast<double>(step));
      const double bias_correction2 = 1 - std::pow(beta2, static_cast<double>(step));
      const double step_size = o.lr() / bias_correction1;
      // Checked before anything of this parameter changes; NaN fails too.
      DISTGRU_CHECK(std::abs(step_size) <= std::numeric_limits<float>::max(),
                    "Adam's step size lr / (1 - beta1^t) = " + std::to_string(step_size) +
                        " is not a finite float (lr " + std::to_string(o.lr()) + ")");
      state.step(step);
      update(p.data_ptr<float>(), p.grad().data_ptr<float>(), m.data_ptr<float>(), v.data_ptr<float>(),
             p.numel(), static_cast<float>(beta1), static_cast<float>(1 - beta1), static_cast<float>(beta2),
             static_cast<float>(1 - beta2), static_cast<float>(std::sqrt(bias_correction2)),
             static_cast<float>(o.eps()), static_cast<float>(-step_size));
    }
  }
}

}  // namespace distgru::train
