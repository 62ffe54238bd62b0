#pragma once
// Adversarial training on the embedded words (--adversarial-epsilon; Miyato,
// Dai & Goodfellow, "Adversarial Training Methods for Semi-Supervised Text
// Classification", ICLR 2017, eq. 2 and 5): besides the loss of each review,
// the step also minimises the loss of the same review with its embedded words
// moved by the small perturbation that raises that loss the most, to first
// order:
//
//   r_adv = epsilon * g / ||g||_2,   g = d loss / d embedded, of one review [T, E]
//
// The norm runs over the whole review (all its words and components), so the
// perturbation concentrates on the words the loss is most sensitive to. g is
// taken as a constant (no gradient flows through r_adv). The paper perturbs
// embeddings normalised to unit variance and takes epsilon = 5; distgru's are
// not normalised, so epsilon is in the embedding's own units (README
// "Results": chosen on validation). Nothing of this runs at evaluation.

#include <torch/torch.h>

namespace distgru::model {

// embedding_grad: [B, T, E], the loss's gradient with respect to the embedded
// words (any positive scale: it cancels). Returns [B, T, E], each review's
// slice of L2 norm epsilon (zero where a review's gradient is all zero),
// without autograd history. Throws distgru::Error for a gradient that is not
// 3-D or a negative epsilon.
torch::Tensor adversarial_perturbation(const torch::Tensor& embedding_grad, double epsilon);

}  // namespace distgru::model
