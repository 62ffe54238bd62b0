#pragma once
// The model as one ONNX graph (opset 13), for ONNX Runtime and every other
// ONNX reader: token ids in, class probabilities and attention weights out,
// any batch size.
//
//   tokens int64 [batch, T]
//     Gather (embedding)                       -> [batch, T, E]
//     Transpose, GRU (bidirectional, linear_before_reset = 1: PyTorch's GRU),
//     Transpose, Reshape                       -> states [batch, T, 2H]
//     MatMul + Add, Relu, MatMul + Add, Squeeze -> scores [batch, T]
//     Where (tokens == pad: -1e9)              -> masked scores (as the model)
//     Softmax over time                        -> attention [batch, T]   (output)
//     MatMul with the states, Squeeze          -> context [batch, 2H]
//     Gemm (classifier), Softmax               -> probabilities [batch, C] (output)
//
// PyTorch stores each GRU weight's gate rows as r, z, n; ONNX wants z, r, h:
// W, R and both biases are reordered here, and B = concat(b_ih, b_hh).

#include <string>

#include "model/attention_gru.h"

namespace distgru::exporter {

struct OnnxGraphInfo {
  int64_t sentence_size = 0;  // T: the graph's fixed time axis
  std::string producer_note;  // recorded in the model's doc string (the checkpoint it came from)
};

// The serialised ModelProto. The model's parameters must be finite.
std::string onnx_model_bytes(model::AttentionGRU& model, const OnnxGraphInfo& info);

}  // namespace distgru::exporter
