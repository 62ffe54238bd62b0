#pragma once
// The classifier of the tutorial distgru grew from, as four stages:
//   Embed   tokens [B,T] -> vectors [B,T,E]           (Embedding V x E)
//   Encode  -> states [B,T,2H]                         (bidirectional GRU, H per direction;
//                                                       fast_gru.h on CPU, cuDNN on CUDA)
//   Attend  -> weights [B,T] -> context [B,2H]         (MLP 2H->A ReLU, A->1; softmax over time)
//   Predict -> logits [B,C]                            (Linear 2H->C)
// While training, optional dropout (dropout.h) on the embedded words, the
// GRU's outputs and the context; none at evaluation.
// Padded positions are masked out of the attention softmax by default, so the
// weights of a review sum to one over its real tokens only.

#include <torch/torch.h>

#include <cstdint>
#include <string>

#include "data/vocabulary.h"
#include "model/dropout.h"
#include "model/precision.h"

namespace distgru::model {

// The tutorial's sizes.
constexpr int64_t kDefaultEmbedDim = 100;      // GloVe 6B 100d fits without projection
constexpr int64_t kDefaultHiddenSize = 128;    // GRU units per direction
constexpr int64_t kDefaultAttentionSize = 32;  // width of the attention MLP's hidden layer

struct ModelConfig {
  int64_t vocab_size = data::kDefaultVocabSize;
  int64_t embed_dim = kDefaultEmbedDim;
  int64_t hidden_size = kDefaultHiddenSize;
  int64_t attention_size = kDefaultAttentionSize;
  int64_t num_classes = 2;         // negative / positive
  bool mask_padding = true;        // keep pad tokens out of the attention softmax
  int64_t pad_id = data::TokenIds::kPad;
  // Encode CPU tensors with the hand-written GRU of fast_gru.h (faster than
  // ATen's in training: one GEMM per step, fused gates, batched weight
  // gradients); CUDA tensors always use cuDNN through torch::nn::GRU.
  // Parameters are the same either way.
  bool fast_gru = true;
  // With the fast GRU, read each distinct word of a batch once where the
  // words repeat (forward below); false: always the dense [B, T, E] input
  // (the bench's baseline for it). The same parameters and results either
  // way, up to rounding.
  bool distinct_words = true;
  // The fast GRU's products (precision.h); resolve it with
  // effective_precision (fast_gru.h) first. Not part of the shape: a
  // checkpoint trains and predicts in either.
  Precision precision = Precision::kFloat32;
  DropoutRates dropout;  // training only; not part of the shape
};

struct ModelOutput {
  torch::Tensor logits;     // [B, num_classes]
  torch::Tensor attention;  // [B, T], rows sum to 1
  torch::Tensor embedded;   // [B, T, E], the embedding's output before dropout and perturbation;
                            // undefined when forward encoded distinct words (see forward)
};

class AttentionGRUImpl : public torch::nn::Module {
 public:
  explicit AttentionGRUImpl(const ModelConfig& config);

  // tokens: integer ids [B, T] on the module's device. perturbation: none, or
  // [B, T, E] added to the embedded words before dropout (adversarial
  // training, adversarial.h). embedded_gradient: ModelOutput::embedded must
  // be the encoder's input in the autograd graph, so that its gradient can
  // be retained (adversarial training's clean pass).
  //
  // On the CPU with the fast GRU, unless a perturbation, embedded_gradient
  // or component dropout (DropoutRates::embedding) needs the dense [B, T, E]
  // input, and unless more than half the positions hold distinct words, the
  // encoder reads each distinct word of the batch once
  // (fast_bidirectional_gru_rows) and ModelOutput::embedded is undefined:
  // the GRU's input-side products then run on about 2,700 rows instead of
  // 16,384 for 64 reviews of 256 tokens. The result is the dense path's up
  // to rounding; word dropout draws the same masks.
  ModelOutput forward(const torch::Tensor& tokens, const torch::Tensor& perturbation = {},
                      bool embedded_gradient = false);

  // [B,T,E] -> [B,T,2H] with the configured GRU implementation.
  torch::Tensor encode(const torch::Tensor& embedded);

  // Uniform(-1, 1) embedding as the tutorial; default init elsewhere.
  void reset_embedding();

  // The generator the next training forwards draw their dropout masks from
  // (dropout_generator(): one per step); without one, the default CPU
  // generator. Unused at evaluation or with no dropout.
  void set_dropout_generator(std::optional<at::Generator> generator) { noise_ = std::move(generator); }

  const ModelConfig& config() const { return config_; }
  torch::nn::Embedding& embedding() { return embedding_; }
  torch::nn::GRU& encoder() { return encoder_; }

 private:
  // tokens [B, T] -> [B, T, 2H] through fast_bidirectional_gru_rows, with
  // word dropout when drop; undefined (nothing drawn) when more than half
  // the positions hold distinct words.
  torch::Tensor encode_distinct_words(const torch::Tensor& tokens, bool drop);

  ModelConfig config_;
  torch::nn::Embedding embedding_{nullptr};
  torch::nn::GRU encoder_{nullptr};
  torch::nn::Linear attention_hidden_{nullptr};
  torch::nn::Linear attention_score_{nullptr};
  torch::nn::Linear classifier_{nullptr};
  std::optional<at::Generator> noise_;
};
TORCH_MODULE(AttentionGRU);

// Total number of scalar parameters (for logs and benchmarks).
int64_t parameter_count(torch::nn::Module& module);

}  // namespace distgru::model
