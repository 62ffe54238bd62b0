#pragma once
// Shared pieces of the distgru-bench suites: options, timing statistics, the
// analytical FLOP count of a training step, and peak memory. Each suite writes
// one JSON object; bench/report.py turns a run's objects into the table.

#include <nlohmann/json.hpp>
#include <torch/torch.h>

#include <chrono>
#include <cstdint>
#include <string>
#include <vector>

#include "common/error.h"
#include "distributed/communicator.h"
#include "model/attention_gru.h"
#include "train/config.h"
#include "train/train_step.h"

namespace distgru::bench {

struct Options {
  std::string data_dir;  // prepared IMDB directory; empty: synthetic tokens
  // distgru-train's defaults (train/config.h).
  int64_t vocab_size = data::kDefaultVocabSize, sentence_size = data::kDefaultSentenceSize,
          embed_dim = model::kDefaultEmbedDim, hidden_size = model::kDefaultHiddenSize,
          attention_size = model::kDefaultAttentionSize;
  int64_t batch_size = train::kDefaultGlobalBatch;  // global
  int64_t steps = 12;        // timed steps (the issue asks for >= 10)
  int64_t warmup = 3;        // untimed steps first: allocator, BLAS pools, page cache
  int64_t eval_samples = 2048;
  int64_t allreduce_iters = 20;  // timed allreduces per path
  int threads = 0;           // per rank; 0 as distgru-train
  bool fast_gru = true;
  bool distinct_words = true;  // false: --dense-words, the model's dense input products
  model::Precision precision = model::Precision::kFloat32;
  std::vector<std::string> gru_variants;  // gru suite: these only (empty: all)
  bool keep_denormals = false;  // undo configure_threads' flush to zero
  // Gradient sync, as distgru-train's --overlap-sync, --sparse-embedding, --bf16-allreduce.
  bool overlap = true;
  bool sparse_embedding = false;
  bool bf16_allreduce = false;

  model::ModelConfig model_config() const;
};

// Wall-clock seconds since t (steady clock), for the suites' timings.
using Clock = std::chrono::steady_clock;
inline double since(Clock::time_point t) { return std::chrono::duration<double>(Clock::now() - t).count(); }

// Median and spread of a sample of timings (seconds).
struct Stats {
  double median = 0, min = 0, max = 0, p10 = 0, p90 = 0;
  static Stats of(std::vector<double> v);
  nlohmann::json to_json() const;
};

// Multiply-adds counted twice, GEMMs and batched products only (the rest is
// under 2%): forward = input projections + recurrent products + attention MLP
// + context; backward twice the forward (input and weight gradients).
double training_flops_per_sample(const Options& o);

// Largest resident set this process has had, in MB (getrusage).
double peak_rss_mb();

// Bytes this process's network namespace has received and sent on every
// interface but loopback (/proc/net/dev, which is per namespace): on a host
// of the test cluster, exactly the job's traffic; on a real host, everything.
struct LinkBytes {
  int64_t received = 0, sent = 0;
};
LinkBytes link_bytes();

// distgru-train's step options (StepOptions::of) at its defaults, with the
// gradient sync `o` asks for.
train::StepOptions step_options(const Options& o);

// collective: max over ranks of a double.
double max_over_ranks(dist::Communicator& comm, double value);

nlohmann::json run_train(const Options& o, dist::Communicator& comm);  // + eval throughput
nlohmann::json run_io(const Options& o, dist::Communicator& comm);
nlohmann::json run_allreduce(const Options& o, dist::Communicator& comm);
// collective: the GEMM floor. Every rank multiplies on one thread at the
// same time (a barrier before each product), so the sum over ranks is what
// the cores a run of this many single-thread ranks uses can deliver together
// (issue 16: one probe alone overstates a loaded machine's share and
// understates its total); rank 0 alone on one thread beside it. Each
// library (OpenBLAS through ATen, oneDNN fp32, oneDNN bf16 where the CPU
// has it) on a 1024^3 square and on the GRU's own shapes ("shapes"). The
// fp32 floor, "gflops_concurrent_sum" and "gflops_1_thread", is the faster
// fp32 library's square ("fp32_floor_library"); "bf16_gflops_*" oneDNN's.
nlohmann::json run_gemm(const Options& o, dist::Communicator& comm);
nlohmann::json run_gru(const Options& o, dist::Communicator& comm);
// The attention stage alone (model/attend.h): fused fp32 (and bf16) against
// ATen op by op, taking turns (bench/attend_bench.cpp).
nlohmann::json run_attend(const Options& o, dist::Communicator& comm);
// oneDNN's lbr_gru primitive, bidirectional, forward and backward timed
// apart at this batch ({"error": ...} where oneDNN refuses it).
nlohmann::json run_lbr_gru(const Options& o, int64_t batch, bool bf16);

}  // namespace distgru::bench
