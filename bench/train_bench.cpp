// Training and evaluation throughput, and shard reading: the suites that run
// the model. Each training step is distgru-train's own (train/train_step.h:
// forward, loss summed / global batch, backward with the buckets reduced as
// they fill, clip, Adam, at distgru-train's defaults), and its StepTimes tell
// the gradient sync's share apart (with overlap: the part backward did not
// hide).

#include <unistd.h>

#include <chrono>
#include <filesystem>

#include "bench/bench_common.h"
#include "data/dataset.h"
#include "data/sampler.h"
#include "data/shard.h"
#include "distributed/gradient_sync.h"
#include "distributed/tensor_collectives.h"
#include "train/config.h"
#include "train/evaluator.h"
#include "train/train_step.h"

namespace distgru::bench {
namespace {


constexpr double kLearningRate = train::kDefaultLearningRate;
constexpr int64_t kEvalBatch = train::kDefaultEvalBatchSize;  // per rank

data::ShardMeta expected_meta(const Options& o, const std::string& split) {
  train::TrainConfig sizes;
  sizes.vocab_size = o.vocab_size;
  sizes.sentence_size = o.sentence_size;
  return train::shard_meta(sizes, split);
}

// `rows` samples for this rank: its own block of the training split (wrapping
// round when the block is smaller), or random tokens without --data.
void load_rows(const Options& o, dist::Communicator& comm, int64_t rows, torch::Tensor& tokens,
               torch::Tensor& labels) {
  if (o.data_dir.empty()) {
    torch::manual_seed(1000 + comm.rank());
    tokens = torch::randint(3, o.vocab_size, {rows, o.sentence_size}, torch::kLong);
    labels = torch::randint(0, 2, {rows}, torch::kLong);
    return;
  }
  data::ShardedDataset ds(o.data_dir, "train", expected_meta(o, "train"), false);
  const auto block = data::block_of(ds.size(), comm.rank(), comm.size());
  const int64_t n = std::min(rows, block.size());
  DISTGRU_CHECK(n > 0, "bench: no training rows for this rank");
  auto x = torch::empty({n, o.sentence_size}, torch::kInt);
  auto y = torch::empty({n}, torch::kInt);
  ds.read(block.begin, block.begin + n, x.data_ptr<int32_t>(), y.data_ptr<int32_t>());
  auto index = torch::arange(rows, torch::kLong).remainder(n);
  tokens = x.to(torch::kLong).index_select(0, index);
  labels = y.to(torch::kLong).index_select(0, index);
}

}  // namespace

nlohmann::json run_train(const Options& o, dist::Communicator& comm) {
  const int64_t local = data::local_batch(o.batch_size, comm.rank(), comm.size());
  torch::Tensor tokens, labels;
  load_rows(o, comm, local * (o.steps + o.warmup), tokens, labels);

  torch::manual_seed(42);
  model::AttentionGRU model(o.model_config());
  auto params = model->parameters();
  dist::broadcast_tensors(comm, params, 0);
  train::TrainStep training(model, comm, step_options(o));

  std::vector<double> step_s, sync_s, backward_s;
  double volume_bytes = 0;  // what the sync handed the communicator, per step (rank 0's)
  LinkBytes link_start;
  for (int64_t i = 0; i < o.warmup + o.steps; ++i) {
    if (i == o.warmup) {
      comm.barrier();  // every rank's warm-up traffic is in
      link_start = link_bytes();
    }
    const auto times = training.run(tokens.narrow(0, i * local, local), labels.narrow(0, i * local, local),
                                o.batch_size, kLearningRate)
                           .times;
    if (i >= o.warmup) {
      step_s.push_back(times.total());
      sync_s.push_back(times.sync);
      backward_s.push_back(times.forward + times.backward);
      const auto& v = training.sync().last_volume();
      volume_bytes += static_cast<double>(v.dense_bytes + v.sparse_bytes) / o.steps;
    }
  }
  comm.barrier();
  const auto link_end = link_bytes();
  // Rank 0's view; every rank waits for the slowest in the allreduce anyway.
  const auto step = Stats::of(step_s);
  std::vector<double> share;
  for (size_t i = 0; i < step_s.size(); ++i) share.push_back(sync_s[i] / step_s[i]);
  std::vector<double> rate;
  for (double s : step_s) rate.push_back(o.batch_size / s);
  nlohmann::json j = {{"step_seconds", step.to_json()},
                      {"step_seconds_each", step_s},
                      {"sync_seconds_each", sync_s},
                      {"samples_per_second", Stats::of(rate).to_json()},
                      {"sync_seconds", Stats::of(sync_s).to_json()},
                      {"sync_share", Stats::of(share).to_json()},
                      {"forward_backward_seconds", Stats::of(backward_s).to_json()},
                      {"gradient_mb", training.sync().bytes() / 1e6},
                      {"gradient_buckets", training.sync().plan().describe()},
                      {"sync_overlapped", training.sync().overlapping()},
                      {"sync_volume_mb_per_step", volume_bytes / 1e6},
                      // The busiest host's interfaces over the timed steps (and
                      // their barriers, a few bytes each).
                      {"link_sent_mb_per_step_max_host",
                       max_over_ranks(comm, (link_end.sent - link_start.sent) / 1e6 / o.steps)},
                      {"link_received_mb_per_step_max_host",
                       max_over_ranks(comm, (link_end.received - link_start.received) / 1e6 / o.steps)},
                      {"flops_per_step", training_flops_per_sample(o) * o.batch_size},
                      {"steps", o.steps},
                      {"warmup", o.warmup}};
  j["train_peak_rss_mb_max_rank"] = max_over_ranks(comm, peak_rss_mb());

  // Evaluation throughput: the evaluator distgru-train uses, on the test split.
  model->eval();
  const auto eval_start = Clock::now();
  int64_t evaluated = 0;
  if (!o.data_dir.empty()) {
    data::ShardedDataset test(o.data_dir, "test", expected_meta(o, "test"), false);
    const data::Range range{0, std::min(o.eval_samples, test.size())};
    train::evaluate(model, comm, test, range, kEvalBatch);
    evaluated = range.size();
  } else {
    torch::NoGradGuard no_grad;
    for (int64_t b = 0; b < tokens.size(0); b += kEvalBatch) {
      const int64_t n = std::min(kEvalBatch, tokens.size(0) - b);
      model->forward(tokens.narrow(0, b, n));
      evaluated += n * comm.size();
    }
    comm.barrier();
  }
  j["eval_samples_per_second"] = evaluated / std::max(since(eval_start), 1e-9);
  return j;
}

nlohmann::json run_io(const Options& o, dist::Communicator& comm) {
  // Synthetic runs read a shard written here; real runs read this rank's block.
  std::string tmp;
  std::unique_ptr<data::ShardedDataset> ds;
  std::unique_ptr<data::ShardReader> reader;
  int64_t rows = 0;
  data::Range block;
  if (o.data_dir.empty()) {
    rows = 512;
    tmp = (std::filesystem::temp_directory_path() /
           ("distgru-bench-" + std::to_string(getpid()) + ".h5"))
              .string();
    auto meta = expected_meta(o, "train");
    meta.num_samples = rows;
    std::vector<int32_t> x(rows * o.sentence_size, 3), y(rows, 1);
    data::write_shard(tmp, meta, x, y);
    reader = std::make_unique<data::ShardReader>(tmp);
    block = {0, rows};
  } else {
    ds = std::make_unique<data::ShardedDataset>(o.data_dir, "train", expected_meta(o, "train"),
                                                false);
    block = data::block_of(ds->size(), comm.rank(), comm.size());
    rows = block.size();
  }
  std::vector<int32_t> x(rows * o.sentence_size), y(rows);
  std::vector<double> seconds;
  for (int rep = 0; rep < 3; ++rep) {  // the first includes opening the files
    comm.barrier();
    const auto start = Clock::now();
    if (reader) reader->read(block.begin, block.end, x.data(), y.data());
    else ds->read(block.begin, block.end, x.data(), y.data());
    seconds.push_back(since(start));
  }
  if (!tmp.empty()) std::filesystem::remove(tmp);
  const double mb = rows * (o.sentence_size + 1) * 4.0 / 1e6;
  const double first = seconds.front();
  seconds.erase(seconds.begin());
  return {{"rows_per_rank", rows},
          {"mb_per_rank", mb},
          {"first_read_mb_per_s", mb / first},
          {"mb_per_s", mb / Stats::of(seconds).median}};
}

}  // namespace distgru::bench
