#include "export/onnx_export.h"

#include <onnx/onnx_pb.h>

#include <initializer_list>
#include <vector>

#include "common/error.h"

namespace distgru::exporter {
namespace {

constexpr int64_t kOpset = 13;
constexpr float kMaskedScore = -1e9f;  // the model's own value (model/attention_gru.cpp)

class GraphBuilder {
 public:
  explicit GraphBuilder(onnx::GraphProto* graph) : graph_(graph) {}

  void floats(const std::string& name, const torch::Tensor& tensor) {
    auto t = tensor.detach().to(torch::kCPU, torch::kFloat).contiguous();
    auto* proto = graph_->add_initializer();
    proto->set_name(name);
    proto->set_data_type(onnx::TensorProto::FLOAT);
    for (auto d : t.sizes()) proto->add_dims(d);
    proto->set_raw_data(std::string(static_cast<const char*>(t.data_ptr()), t.numel() * sizeof(float)));
  }

  void int64s(const std::string& name, const std::vector<int64_t>& values, bool scalar = false) {
    auto* proto = graph_->add_initializer();
    proto->set_name(name);
    proto->set_data_type(onnx::TensorProto::INT64);
    if (!scalar) proto->add_dims(static_cast<int64_t>(values.size()));
    for (auto v : values) proto->add_int64_data(v);
  }

  void scalar_float(const std::string& name, float value) {
    auto* proto = graph_->add_initializer();
    proto->set_name(name);
    proto->set_data_type(onnx::TensorProto::FLOAT);
    proto->add_float_data(value);
  }

  onnx::NodeProto* node(const std::string& op, std::initializer_list<std::string> inputs,
                        std::initializer_list<std::string> outputs) {
    auto* n = graph_->add_node();
    n->set_op_type(op);
    n->set_name(op + "_" + std::to_string(graph_->node_size()));
    for (const auto& in : inputs) n->add_input(in);
    for (const auto& out : outputs) n->add_output(out);
    return n;
  }

  static void attr(onnx::NodeProto* n, const std::string& name, int64_t value) {
    auto* a = n->add_attribute();
    a->set_name(name);
    a->set_type(onnx::AttributeProto::INT);
    a->set_i(value);
  }
  static void attr(onnx::NodeProto* n, const std::string& name, const std::string& value) {
    auto* a = n->add_attribute();
    a->set_name(name);
    a->set_type(onnx::AttributeProto::STRING);
    a->set_s(value);
  }
  static void attr(onnx::NodeProto* n, const std::string& name, const std::vector<int64_t>& values) {
    auto* a = n->add_attribute();
    a->set_name(name);
    a->set_type(onnx::AttributeProto::INTS);
    for (auto v : values) a->add_ints(v);
  }

  // A graph input or output: the first axis named "batch", the others fixed.
  void value(onnx::ValueInfoProto* v, const std::string& name, onnx::TensorProto::DataType type,
             std::initializer_list<int64_t> fixed_dims) {
    v->set_name(name);
    auto* tensor = v->mutable_type()->mutable_tensor_type();
    tensor->set_elem_type(type);
    auto* shape = tensor->mutable_shape();
    shape->add_dim()->set_dim_param("batch");
    for (auto d : fixed_dims) shape->add_dim()->set_dim_value(d);
  }

 private:
  onnx::GraphProto* graph_;
};

// PyTorch's gate blocks r, z, n (rows [0,H), [H,2H), [2H,3H)) as ONNX's z, r, h.
torch::Tensor zrh(const torch::Tensor& rzn, int64_t hidden) {
  return torch::cat({rzn.narrow(0, hidden, hidden), rzn.narrow(0, 0, hidden), rzn.narrow(0, 2 * hidden, hidden)});
}

}  // namespace

std::string onnx_model_bytes(model::AttentionGRU& model, const OnnxGraphInfo& info) {
  const auto& c = model->config();
  const int64_t H = c.hidden_size, T = info.sentence_size;
  DISTGRU_CHECK(T > 0, "onnx export: the sentence size must be positive");
  auto p = model->named_parameters();

  onnx::ModelProto proto;
  proto.set_ir_version(onnx::IR_VERSION);
  proto.set_producer_name("distgru");
  proto.set_doc_string("distgru bidirectional-GRU + attention classifier. " + info.producer_note);
  proto.add_opset_import()->set_version(kOpset);
  auto* graph = proto.mutable_graph();
  graph->set_name("distgru_attention_gru");
  GraphBuilder g(graph);

  g.value(graph->add_input(), "tokens", onnx::TensorProto::INT64, {T});
  g.value(graph->add_output(), "probabilities", onnx::TensorProto::FLOAT, {c.num_classes});
  g.value(graph->add_output(), "attention", onnx::TensorProto::FLOAT, {T});

  // Weights, the GRU's in ONNX's layout: [directions, 3H, in], gate order z, r, h.
  g.floats("embedding.weight", p["embedding.weight"]);
  std::vector<torch::Tensor> w, r, b;
  for (const std::string suffix : {"_l0", "_l0_reverse"}) {
    w.push_back(zrh(p["encoder.weight_ih" + suffix], H));
    r.push_back(zrh(p["encoder.weight_hh" + suffix], H));
    b.push_back(torch::cat({zrh(p["encoder.bias_ih" + suffix], H), zrh(p["encoder.bias_hh" + suffix], H)}));
  }
  g.floats("gru.W", torch::stack(w));
  g.floats("gru.R", torch::stack(r));
  g.floats("gru.B", torch::stack(b));
  g.floats("attention_hidden.weight_t", p["attention_hidden.weight"].t());
  g.floats("attention_hidden.bias", p["attention_hidden.bias"]);
  g.floats("attention_score.weight_t", p["attention_score.weight"].t());
  g.floats("attention_score.bias", p["attention_score.bias"]);
  g.floats("classifier.weight", p["classifier.weight"]);
  g.floats("classifier.bias", p["classifier.bias"]);
  g.int64s("states_shape", {0, 0, -1});
  g.int64s("axis_1", {1});
  g.int64s("axis_2", {2});
  g.int64s("pad_id", {c.pad_id}, /*scalar=*/true);
  g.scalar_float("masked_score", kMaskedScore);

  // Embed.
  g.node("Gather", {"embedding.weight", "tokens"}, {"embedded"});
  GraphBuilder::attr(g.node("Transpose", {"embedded"}, {"embedded_tbe"}), "perm", std::vector<int64_t>{1, 0, 2});
  // Encode.
  auto* gru = g.node("GRU", {"embedded_tbe", "gru.W", "gru.R", "gru.B"}, {"gru_y"});
  GraphBuilder::attr(gru, "hidden_size", H);
  GraphBuilder::attr(gru, "direction", std::string("bidirectional"));
  GraphBuilder::attr(gru, "linear_before_reset", int64_t{1});
  GraphBuilder::attr(g.node("Transpose", {"gru_y"}, {"gru_y_btdh"}), "perm", std::vector<int64_t>{2, 0, 1, 3});
  g.node("Reshape", {"gru_y_btdh", "states_shape"}, {"states"});
  // Attend.
  g.node("MatMul", {"states", "attention_hidden.weight_t"}, {"hidden_mm"});
  g.node("Add", {"hidden_mm", "attention_hidden.bias"}, {"hidden_pre"});
  g.node("Relu", {"hidden_pre"}, {"hidden"});
  g.node("MatMul", {"hidden", "attention_score.weight_t"}, {"score_mm"});
  g.node("Add", {"score_mm", "attention_score.bias"}, {"score_3d"});
  g.node("Squeeze", {"score_3d", "axis_2"}, {"scores"});
  std::string scores = "scores";
  if (c.mask_padding) {
    g.node("Equal", {"tokens", "pad_id"}, {"is_pad"});
    g.node("Where", {"is_pad", "masked_score", "scores"}, {"masked_scores"});
    scores = "masked_scores";
  }
  auto* softmax = g.node("Softmax", {}, {"attention"});
  softmax->add_input(scores);
  GraphBuilder::attr(softmax, "axis", int64_t{1});
  g.node("Unsqueeze", {"attention", "axis_1"}, {"attention_b1t"});
  g.node("MatMul", {"attention_b1t", "states"}, {"context_b1d"});
  g.node("Squeeze", {"context_b1d", "axis_1"}, {"context"});
  // Predict.
  auto* gemm = g.node("Gemm", {"context", "classifier.weight", "classifier.bias"}, {"logits"});
  GraphBuilder::attr(gemm, "transB", int64_t{1});
  GraphBuilder::attr(g.node("Softmax", {"logits"}, {"probabilities"}), "axis", int64_t{1});

  std::string bytes;
  DISTGRU_CHECK(proto.SerializeToString(&bytes), "onnx export: the model could not be serialised");
  return bytes;
}

}  // namespace distgru::exporter
