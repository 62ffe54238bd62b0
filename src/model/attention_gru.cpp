#include "model/attention_gru.h"

#include "common/error.h"
#include "model/attend.h"
#include "model/fast_gru.h"

namespace distgru::model {

AttentionGRUImpl::AttentionGRUImpl(const ModelConfig& config) : config_(config) {
  DISTGRU_CHECK(config.vocab_size > 3, "model: vocab_size must exceed the 3 reserved ids");
  DISTGRU_CHECK(config.embed_dim > 0 && config.hidden_size > 0 && config.attention_size > 0 &&
                    config.num_classes >= 2,
                "model: sizes must be positive and num_classes >= 2");
  for (const double p : {config.dropout.embedding, config.dropout.word, config.dropout.encoder, config.dropout.output}) {
    DISTGRU_CHECK(p >= 0.0 && p < 1.0, "model: dropout rate " + std::to_string(p) + " is not in [0, 1)");
  }
  embedding_ = register_module(
      "embedding", torch::nn::Embedding(config.vocab_size, config.embed_dim));
  encoder_ = register_module(
      "encoder", torch::nn::GRU(torch::nn::GRUOptions(config.embed_dim, config.hidden_size)
                                    .batch_first(true)
                                    .bidirectional(true)));
  attention_hidden_ = register_module(
      "attention_hidden", torch::nn::Linear(2 * config.hidden_size, config.attention_size));
  attention_score_ =
      register_module("attention_score", torch::nn::Linear(config.attention_size, 1));
  classifier_ = register_module(
      "classifier", torch::nn::Linear(2 * config.hidden_size, config.num_classes));
  reset_embedding();
}

void AttentionGRUImpl::reset_embedding() {
  torch::NoGradGuard no_grad;
  embedding_->weight.uniform_(-1.0, 1.0);
}

ModelOutput AttentionGRUImpl::forward(const torch::Tensor& tokens, const torch::Tensor& perturbation) {
  DISTGRU_CHECK(tokens.dim() == 2, "model: tokens must be [batch, time]");
  const auto looked_up = embedding_->forward(tokens);          // [B,T,E]
  auto embedded = perturbation.defined() ? looked_up + perturbation : looked_up;
  const bool drop = is_training() && config_.dropout.any();
  const int64_t batch = tokens.size(0), time = tokens.size(1);
  if (drop) {
    // Words first, then components, then the encoder's outputs and the
    // context: the masks are drawn in this order from one generator.
    embedded = dropout(embedded, config_.dropout.word, {batch, time, 1}, noise_);
    embedded = dropout(embedded, config_.dropout.embedding, embedded.sizes(), noise_);
  }
  auto states = encode(embedded);                                // [B,T,2H]
  if (drop) states = dropout(states, config_.dropout.encoder, states.sizes(), noise_);
  // On the CPU the whole stage runs review by review in one function
  // (attend.h), its products in the configured precision.
  const AttentionParameters attention{attention_hidden_->weight, attention_hidden_->bias,
                                      attention_score_->weight, attention_score_->bias};
  auto [context, weights] = attend(states, config_.mask_padding ? tokens.eq(config_.pad_id) : torch::Tensor(),
                                   attention, config_.precision, /*fused=*/config_.fast_gru);
  if (drop) context = dropout(context, config_.dropout.output, context.sizes(), noise_);
  return {classifier_->forward(context), weights, looked_up};
}

torch::Tensor AttentionGRUImpl::encode(const torch::Tensor& embedded) {
  if (!config_.fast_gru || !embedded.device().is_cpu()) {
    return std::get<0>(encoder_->forward(embedded));
  }
  // The parameters stay registered by torch::nn::GRU under its own names
  // (encoder.weight_ih_l0, ..._reverse), so checkpoints do not depend on which
  // implementation ran.
  const auto p = encoder_->named_parameters(/*recurse=*/false);
  const GRUDirectionWeights forward{p["weight_ih_l0"], p["weight_hh_l0"], p["bias_ih_l0"],
                                    p["bias_hh_l0"]};
  const GRUDirectionWeights reverse{p["weight_ih_l0_reverse"], p["weight_hh_l0_reverse"],
                                    p["bias_ih_l0_reverse"], p["bias_hh_l0_reverse"]};
  return fast_bidirectional_gru(embedded, forward, reverse, config_.precision);
}

int64_t parameter_count(torch::nn::Module& module) {
  int64_t n = 0;
  for (const auto& p : module.parameters()) n += p.numel();
  return n;
}

}  // namespace distgru::model
