#include "train/evaluator.h"

#include "common/error.h"
#include "runtime/stop_signals.h"
#include "train/progress.h"
#include "train/samples.h"

namespace distgru::train {

report::EvalRecord record_of(const EvalResult& r, int64_t step, const std::string& split) {
  report::EvalRecord record;
  record.step = step;
  record.split = split;
  record.samples = r.samples;
  record.accuracy = r.accuracy;
  record.auc = r.auc;
  record.loss = r.loss;
  record.tp = r.confusion.tp;
  record.fp = r.confusion.fp;
  record.tn = r.confusion.tn;
  record.fn = r.confusion.fn;
  return record;
}

EvalResult evaluate(model::AttentionGRU& model, dist::Communicator& comm,
                    const data::ShardedDataset& dataset, data::Range range, int64_t batch_size,
                    const std::string& what) {
  DISTGRU_CHECK(batch_size > 0, "evaluate: batch size must be positive");
  const int64_t n = range.size();
  const auto mine = data::block_of(n, comm.rank(), comm.size());
  auto samples = load_samples(dataset, {range.begin + mine.begin, range.begin + mine.end});
  const auto device = comm.device();

  // Columns: probability of the positive class, per-sample loss, label.
  auto table = torch::zeros({n, 3}, torch::TensorOptions().dtype(torch::kDouble).device(device));
  const bool was_training = model->is_training();
  model->eval();
  int interrupted = 0;
  {
    // Every rank scores an equal block, so rank 0's share tells the whole.
    ScoringProgress progress(n);
    torch::NoGradGuard no_grad;
    for (int64_t b = 0; b < samples.size(); b += batch_size) {
      if ((interrupted = runtime::stop_signal()) != 0) break;
      const int64_t e = std::min(samples.size(), b + batch_size);
      auto tokens = samples.tokens.slice(0, b, e).to(device);
      auto labels = samples.labels.slice(0, b, e).to(device);
      auto logits = model->forward(tokens).logits;
      auto probs = torch::softmax(logits, 1).select(1, 1);
      auto losses = torch::nn::functional::cross_entropy(
          logits, labels, torch::nn::functional::CrossEntropyFuncOptions().reduction(torch::kNone));
      auto rows = table.slice(0, mine.begin + b, mine.begin + e);
      rows.select(1, 0).copy_(probs);
      rows.select(1, 1).copy_(losses);
      rows.select(1, 2).copy_(labels);
      progress.advance(samples.size() > 0 ? e * n / samples.size() : n);
    }
    progress.finish();
  }
  if (was_training) model->train();
  // Whether any rank stopped early, before the table they may not all have filled.
  auto stop = torch::tensor({interrupted}, torch::kInt).to(device);
  comm.allreduce(stop, dist::ReduceOp::kMax);
  EvalResult r;
  r.interrupted_by = stop.to(torch::kCPU).item<int>();
  if (r.interrupted_by != 0) return r;
  comm.allreduce(table, dist::ReduceOp::kSum);
  table = table.to(torch::kCPU).contiguous();

  r.samples = n;
  const auto t = table.accessor<double, 2>();
  r.probabilities.resize(n);
  r.labels.resize(n);
  double loss_sum = 0.0;
  for (int64_t i = 0; i < n; ++i) {
    r.probabilities[i] = t[i][0];
    loss_sum += t[i][1];
    r.labels[i] = static_cast<int32_t>(t[i][2]);
  }
  r.loss = n > 0 ? loss_sum / static_cast<double>(n) : 0.0;
  const int64_t bad = non_finite_count(r.probabilities);
  if (bad > 0) {
    throw AgreedError(what + ": " + std::to_string(bad) + " of " + std::to_string(n) +
                          " scores are NaN or infinite: the model's parameters are not finite (training "
                          "diverged)",
                      kExitFailure);
  }
  r.accuracy = accuracy(r.probabilities, r.labels);
  r.auc = roc_auc(r.probabilities, r.labels);
  r.confusion = confusion(r.probabilities, r.labels);
  return r;
}

}  // namespace distgru::train
