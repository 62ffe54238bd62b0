#pragma once
// The precision of the model's matrix products on the CPU (--precision).
// bf16 multiplies bfloat16 copies of the operands and accumulates in float32
// (oneDNN's matmul on AVX512_BF16 or AMX, model/onednn_gemm.h); everything
// else -- the gate arithmetic, hidden states, softmax, loss, allreduce, Adam
// and the weights themselves -- stays float32 ("fp32 master weights").

#include <array>
#include <string_view>
#include <utility>

#include "common/choice.h"

namespace distgru::model {

enum class Precision { kFloat32, kBFloat16 };

}  // namespace distgru::model

template <>
struct distgru::ChoiceNames<distgru::model::Precision> {
  static constexpr std::array<std::pair<distgru::model::Precision, std::string_view>, 2> kValues{
      {{distgru::model::Precision::kFloat32, "fp32"}, {distgru::model::Precision::kBFloat16, "bf16"}}};
};
