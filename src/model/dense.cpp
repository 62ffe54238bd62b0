#include "model/dense.h"

#include "common/error.h"
#include "model/onednn_gemm.h"

namespace distgru::model {
namespace {

using torch::Tensor;

class DenseFunction : public torch::autograd::Function<DenseFunction> {
 public:
  static Tensor forward(torch::autograd::AutogradContext* ctx, const Tensor& x, const Tensor& weight,
                        const Tensor& bias, bool bf16) {
    const auto x2 = x.contiguous();
    const auto w = weight.contiguous();
    const auto xs = bf16 ? bfloat16_copy(x2) : x2;
    const auto ws = bf16 ? bfloat16_copy(w) : w;
    auto y = bias.unsqueeze(0).expand({x2.size(0), w.size(0)}).contiguous();
    onednn_product(xs, ws.t(), y, /*accumulate=*/true);  // y = b + x W^T
    ctx->save_for_backward({xs, ws});
    ctx->saved_data["bf16"] = bf16;
    return y;
  }

  static torch::autograd::variable_list backward(torch::autograd::AutogradContext* ctx,
                                                 torch::autograd::variable_list grad_out) {
    const auto saved = ctx->get_saved_variables();
    const auto& xs = saved[0];
    const auto& ws = saved[1];
    const bool bf16 = ctx->saved_data["bf16"].toBool();
    const auto dy = grad_out[0].contiguous();  // [N, out]
    const auto dys = bf16 ? bfloat16_copy(dy) : dy;
    const auto f32 = dy.options().dtype(torch::kFloat);
    Tensor dx;
    if (ctx->needs_input_grad(0)) {
      dx = torch::empty({dy.size(0), ws.size(1)}, f32);
      onednn_product(dys, ws, dx);  // dx = dy W
    }
    auto dw = torch::empty({ws.size(0), ws.size(1)}, f32);
    onednn_product(dys.t(), xs, dw);  // dW = dy^T x
    return {dx, dw, dy.sum(0), Tensor()};
  }
};

}  // namespace

torch::Tensor dense(const torch::Tensor& x, const torch::Tensor& weight, const torch::Tensor& bias,
                    Precision precision) {
  const bool onednn = onednn_available() && x.device().is_cpu() && x.scalar_type() == torch::kFloat;
  if (!onednn) {
    DISTGRU_CHECK(precision == Precision::kFloat32 || !x.device().is_cpu(),
                  "dense: bf16 products need oneDNN and float32 CPU tensors");
    return torch::linear(x, weight, bias);
  }
  DISTGRU_CHECK(x.size(-1) == weight.size(1) && bias.numel() == weight.size(0),
                "dense: x [..., in], weight [out, in] and bias [out] do not fit");
  auto sizes = x.sizes().vec();
  const auto y = DenseFunction::apply(x.reshape({-1, x.size(-1)}), weight, bias,
                                      precision == Precision::kBFloat16);
  sizes.back() = weight.size(0);
  return y.view(sizes);
}

}  // namespace distgru::model
