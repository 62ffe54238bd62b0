#include "model/attention_gru.h"

#include <array>

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

ModelOutput AttentionGRUImpl::forward(const torch::Tensor& tokens, const torch::Tensor& perturbation,
                                      bool embedded_gradient) {
  DISTGRU_CHECK(tokens.dim() == 2, "model: tokens must be [batch, time]");
  const bool drop = is_training() && config_.dropout.any();
  const int64_t batch = tokens.size(0), time = tokens.size(1);
  // Words first, then components, then the encoder's outputs and the
  // context: the masks are drawn in this order from one generator.
  torch::Tensor looked_up, states;
  if (config_.fast_gru && config_.distinct_words && tokens.device().is_cpu() && !perturbation.defined() &&
      !embedded_gradient &&
      !(drop && config_.dropout.embedding > 0)) {
    states = encode_distinct_words(tokens, drop);
  }
  if (!states.defined()) {
    looked_up = embedding_->forward(tokens);  // [B,T,E]
    auto embedded = perturbation.defined() ? looked_up + perturbation : looked_up;
    if (drop) {
      embedded = dropout(embedded, config_.dropout.word, {batch, time, 1}, noise_);
      embedded = dropout(embedded, config_.dropout.embedding, embedded.sizes(), noise_);
    }
    states = encode(embedded);  // [B,T,2H]
  }
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

namespace {

// The parameters stay registered by torch::nn::GRU under its own names
// (encoder.weight_ih_l0, ..._reverse), so checkpoints do not depend on which
// implementation ran.
std::array<GRUDirectionWeights, 2> direction_weights(torch::nn::GRU& encoder) {
  const auto p = encoder->named_parameters(/*recurse=*/false);
  return {GRUDirectionWeights{p["weight_ih_l0"], p["weight_hh_l0"], p["bias_ih_l0"], p["bias_hh_l0"]},
          GRUDirectionWeights{p["weight_ih_l0_reverse"], p["weight_hh_l0_reverse"], p["bias_ih_l0_reverse"],
                              p["bias_hh_l0_reverse"]}};
}

}  // namespace

torch::Tensor AttentionGRUImpl::encode(const torch::Tensor& embedded) {
  if (!config_.fast_gru || !embedded.device().is_cpu()) {
    return std::get<0>(encoder_->forward(embedded));
  }
  const auto w = direction_weights(encoder_);
  return fast_bidirectional_gru(embedded, w[0], w[1], config_.precision);
}

torch::Tensor AttentionGRUImpl::encode_distinct_words(const torch::Tensor& tokens, bool drop) {
  const int64_t batch = tokens.size(0), time = tokens.size(1);
  auto [words, index, counts] = at::_unique2(tokens.reshape({-1}), /*sorted=*/true, /*return_inverse=*/true);
  // Worth it only where words repeat: the rows' products, the gather and the
  // scatter cost about what the dense products do once half the positions
  // hold distinct words (random tokens, say); real reviews hold a sixth.
  if (2 * words.size(0) > tokens.numel()) return {};
  auto rows = embedding_->forward(words);  // [U, E]
  index = index.view({batch, time});
  if (drop && config_.dropout.word > 0) {
    // The mask dropout() would draw for [B, T, 1], from the same generator:
    // a dropped word reads an extra row of zeros, a kept one its word's row
    // times 1 / (1 - p), the same values the dense path multiplies.
    const auto keep = dropout_mask(config_.dropout.word, {batch, time, 1}, noise_).view({batch, time});
    const int64_t zero_row = rows.size(0);
    rows = torch::cat({rows * dropout_keep_scale(config_.dropout.word), torch::zeros({1, rows.size(1)}, rows.options())});
    index = index.masked_fill(keep.eq(0), zero_row);
  }
  const auto w = direction_weights(encoder_);
  return fast_bidirectional_gru_rows(rows, index, w[0], w[1], config_.precision);
}

int64_t parameter_count(torch::nn::Module& module) {
  int64_t n = 0;
  for (const auto& p : module.parameters()) n += p.numel();
  return n;
}

}  // namespace distgru::model
