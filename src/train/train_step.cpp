#include "train/train_step.h"

#include <chrono>
#include <cmath>
#include <limits>

#include "common/error.h"
#include "model/adversarial.h"
#include "train/adam_update.h"

namespace distgru::train {
namespace {

using Clock = std::chrono::steady_clock;

// Seconds since `*mark`, which moves to now.
double lap(Clock::time_point* mark) {
  const auto now = Clock::now();
  const double seconds = std::chrono::duration<double>(now - *mark).count();
  *mark = now;
  return seconds;
}

// Cross-entropy summed over this rank's samples / the global batch: the
// allreduced SUM is then exactly the gradient of the global-batch mean,
// however the samples are split.
torch::Tensor summed_loss(const torch::Tensor& logits, const torch::Tensor& labels, int64_t global_batch) {
  return torch::nn::functional::cross_entropy(
             logits, labels, torch::nn::functional::CrossEntropyFuncOptions().reduction(torch::kSum)) /
         static_cast<double>(global_batch);
}

}  // namespace

StepOptions StepOptions::of(const TrainConfig& c) {
  StepOptions o;
  o.clip_grad_norm = c.clip_grad_norm;
  o.sync.bucket_bytes = static_cast<int64_t>(c.bucket_mb * 1e6);
  o.sync.overlap = c.overlap_sync;
  o.sparse_embedding = c.sparse_embedding;
  if (c.bf16_allreduce) o.sync.wire_dtype = torch::kBFloat16;
  o.weight_decay = c.weight_decay;
  o.adversarial_epsilon = c.adversarial_epsilon;
  o.seed = c.seed;
  return o;
}

void check_step_finite(int64_t step, const StepResult& result, double loss) {
  if (result.applied && std::isfinite(loss)) return;
  throw AgreedError("training diverged at step " + std::to_string(step) + ": loss " + std::to_string(loss) +
                        ", gradient norm " + std::to_string(result.grad_norm) +
                        ". The update was not applied and nothing of it was written; lower --lr (or raise "
                        "--warmup-steps) and resume from the last checkpoint",
                    kExitFailure);
}

TrainStep::TrainStep(model::AttentionGRU& model, dist::Communicator& comm, StepOptions options)
    : model_(model), options_(options), params_(model->parameters()), rank_(comm.rank()) {
  // The rate is set before every step (lr_schedule.h); this one is never used.
  optimizer_ = std::make_unique<torch::optim::Adam>(params_, torch::optim::AdamOptions(1e-3));
  if (options_.sparse_embedding) {
    const auto& embedding = model_->embedding()->weight;
    for (size_t i = 0; i < params_.size(); ++i) {
      if (params_[i].is_same(embedding)) options_.sync.sparse_rows = static_cast<int64_t>(i);
    }
    DISTGRU_CHECK(options_.sync.sparse_rows >= 0, "--sparse-embedding: the model has no embedding parameter");
  }
  sync_ = std::make_unique<dist::GradientSync>(comm, params_, options_.sync);
  DISTGRU_CHECK(options_.weight_decay >= 0, "weight decay must be >= 0");
  DISTGRU_CHECK(options_.adversarial_epsilon >= 0, "adversarial epsilon must be >= 0");
  for (const auto& p : params_) {
    if (p.dim() >= 2 && !p.is_same(model_->embedding()->weight)) decayed_.push_back(p);
  }
}

TrainStep::~TrainStep() = default;

StepResult TrainStep::run(const torch::Tensor& tokens, const torch::Tensor& labels, int64_t global_batch,
                          double lr, int64_t step) {
  StepResult result;
  result.times.start = std::chrono::system_clock::now();
  auto mark = Clock::now();
  const bool adversarial = options_.adversarial_epsilon > 0;
  // Zeroes (or clears) every gradient, as zero_grad(); with adversarial
  // training the clean backward only accumulates, and the perturbed one syncs.
  if (adversarial) {
    sync_->begin_local_backward();
  } else {
    sync_->begin_backward();
  }
  if (model_->config().dropout.any()) {
    model_->set_dropout_generator(model::dropout_generator(options_.seed, step, rank_));
  }
  auto out = model_->forward(tokens, /*perturbation=*/{}, /*embedded_gradient=*/adversarial);
  auto loss = summed_loss(out.logits, labels, global_batch);
  result.times.forward = lap(&mark);
  if (adversarial) out.embedded.retain_grad();
  loss.backward();
  if (adversarial) {
    // Each review again, its words moved the way that raises its loss most
    // (model/adversarial.h); the gradients add to the clean ones.
    const auto r_adv = model::adversarial_perturbation(out.embedded.grad(), options_.adversarial_epsilon);
    sync_->continue_backward();
    const auto perturbed = model_->forward(tokens, r_adv);
    summed_loss(perturbed.logits, labels, global_batch).backward();
  }
  result.times.backward = lap(&mark);
  // The embedding rows this batch touched: the words it holds.
  sync_->allreduce_gradients(options_.sparse_embedding ? std::get<0>(at::_unique(tokens.reshape({-1})))
                                                       : torch::Tensor());
  result.times.sync = lap(&mark);
  // With no clipping the norm is still measured (an infinite bound scales nothing).
  result.grad_norm = torch::nn::utils::clip_grad_norm_(
      params_, options_.clip_grad_norm > 0 ? options_.clip_grad_norm : std::numeric_limits<double>::infinity());
  result.applied = std::isfinite(result.grad_norm);
  if (result.applied) {
    for (auto& group : optimizer_->param_groups()) {
      static_cast<torch::optim::AdamOptions&>(group.options()).lr(lr);
    }
    if (options_.weight_decay > 0) {
      torch::NoGradGuard no_grad;
      for (auto& p : decayed_) p.mul_(1.0 - lr * options_.weight_decay);
    }
    try {
      adam_update(*optimizer_);  // Adam::step's update in one pass per parameter
    } catch (const c10::Error& e) {
      // Adam::step's (the fallback), for one a rate so large that its step
      // size overflows a float.
      DISTGRU_FAIL("Adam's update at learning rate " + std::to_string(lr) +
                   " failed: " + e.what_without_backtrace());
    } catch (const Error& e) {
      // adam_update's own: the same for the one-pass loop, or moments that
      // do not fit their parameter.
      DISTGRU_FAIL("Adam's update at learning rate " + std::to_string(lr) + " failed: " + e.what());
    }
  }
  result.local_loss = loss.detach().to(torch::kCPU, torch::kDouble).item<double>();
  result.times.optimizer = lap(&mark);
  return result;
}

}  // namespace distgru::train
