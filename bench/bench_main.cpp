// distgru-bench: the C++ side of bench/run.sh. One MPI job runs the suites
// named by --suite and rank 0 writes them as one JSON object to --json:
//
//   mpirun -np R distgru-bench --suite train,allreduce --threads T --data DIR --json out.json
//
// Suites: train (training throughput, gradient-sync share, evaluation
// throughput, peak memory), io (HDF5 shard read), allreduce (distgru's
// gradient path vs bare MPI_Allreduce), gemm (the BLAS floor), gru (the
// encoder alone, fast vs ATen).

#include <sys/resource.h>

#include <algorithm>
#include <chrono>
#include <fstream>
#include <iostream>
#include <sstream>

#include "bench/bench_common.h"
#include "cli/mpi_main.h"
#include "common/file_system.h"
#include "distributed/factory.h"
#include "model/fast_gru.h"
#include "runtime/blas_kernels.h"
#include "runtime/process_settings.h"

namespace distgru::bench {

model::ModelConfig Options::model_config() const {
  model::ModelConfig c;
  c.vocab_size = vocab_size;
  c.embed_dim = embed_dim;
  c.hidden_size = hidden_size;
  c.attention_size = attention_size;
  c.fast_gru = fast_gru;
  c.distinct_words = distinct_words;
  c.precision = precision;
  return c;
}

Stats Stats::of(std::vector<double> v) {
  Stats s;
  if (v.empty()) return s;
  std::sort(v.begin(), v.end());
  auto at = [&](double q) { return v[static_cast<size_t>(q * (v.size() - 1) + 0.5)]; };
  s.median = v.size() % 2 ? v[v.size() / 2] : 0.5 * (v[v.size() / 2 - 1] + v[v.size() / 2]);
  s.min = v.front();
  s.max = v.back();
  s.p10 = at(0.1);
  s.p90 = at(0.9);
  return s;
}

nlohmann::json Stats::to_json() const {
  return {{"median", median}, {"min", min}, {"max", max}, {"p10", p10}, {"p90", p90}};
}

double training_flops_per_sample(const Options& o) {
  const double T = o.sentence_size, E = o.embed_dim, H = o.hidden_size, A = o.attention_size;
  const double input_proj = 2 * T * E * 3 * H * 2;  // both directions
  const double recurrent = 2 * T * H * 3 * H * 2;
  const double attention = 2 * T * 2 * H * A + 2 * T * A + 2 * T * 2 * H;
  return 3 * (input_proj + recurrent + attention);
}

double peak_rss_mb() {
  rusage u{};
  getrusage(RUSAGE_SELF, &u);
  return u.ru_maxrss / 1024.0;  // KB on Linux
}

LinkBytes link_bytes() {
  std::ifstream in("/proc/net/dev");
  DISTGRU_CHECK(in.good(), "bench: cannot read /proc/net/dev");
  LinkBytes total;
  std::string line;
  // "  mn0: rx_bytes rx_packets ... (8 receive columns) tx_bytes ..." after two header lines.
  while (std::getline(in, line)) {
    const auto colon = line.find(':');
    if (colon == std::string::npos) continue;
    std::string name = line.substr(0, colon);
    name.erase(0, name.find_first_not_of(' '));
    if (name == "lo") continue;
    std::istringstream fields(line.substr(colon + 1));
    std::vector<int64_t> v;
    for (int64_t x; fields >> x;) v.push_back(x);
    if (v.size() < 9) continue;
    total.received += v[0];
    total.sent += v[8];
  }
  return total;
}

train::StepOptions step_options(const Options& o) {
  // distgru-train's own mapping from its settings, at its defaults but these.
  train::TrainConfig c;
  c.overlap_sync = o.overlap;
  c.sparse_embedding = o.sparse_embedding;
  c.bf16_allreduce = o.bf16_allreduce;
  return train::StepOptions::of(c);
}

double max_over_ranks(dist::Communicator& comm, double value) {
  auto t = torch::tensor({value}, torch::kDouble);
  comm.allreduce(t, dist::ReduceOp::kMax);
  return t.item<double>();
}

namespace {

std::vector<std::string> split(const std::string& s) {
  std::vector<std::string> out;
  std::stringstream in(s);
  for (std::string item; std::getline(in, item, ',');) out.push_back(item);
  return out;
}

Options parse(int argc, char** argv, std::vector<std::string>& suites, std::string& json) {
  Options o;
  for (int i = 1; i < argc; ++i) {
    const std::string flag = argv[i];
    auto value = [&]() -> std::string {
      if (i + 1 >= argc) throw cli::UsageError(flag + " needs a value");
      return argv[++i];
    };
    auto number = [&]() { return std::stoll(value()); };
    if (flag == "--suite") suites = split(value());
    else if (flag == "--json") json = value();
    else if (flag == "--data") o.data_dir = value();
    else if (flag == "--vocab") o.vocab_size = number();
    else if (flag == "--sentence") o.sentence_size = number();
    else if (flag == "--embed") o.embed_dim = number();
    else if (flag == "--hidden") o.hidden_size = number();
    else if (flag == "--attention") o.attention_size = number();
    else if (flag == "--batch") o.batch_size = number();
    else if (flag == "--steps") o.steps = number();
    else if (flag == "--warmup") o.warmup = number();
    else if (flag == "--eval-samples") o.eval_samples = number();
    else if (flag == "--allreduce-iters") o.allreduce_iters = number();
    else if (flag == "--threads") o.threads = static_cast<int>(number());
    else if (flag == "--aten-gru") o.fast_gru = false;
    else if (flag == "--dense-words") o.distinct_words = false;
    else if (flag == "--precision") o.precision = parse_choice<model::Precision>(value(), "--precision");
    else if (flag == "--gru-variants") o.gru_variants = split(value());
    else if (flag == "--keep-denormals") o.keep_denormals = true;
    else if (flag == "--no-overlap") o.overlap = false;
    else if (flag == "--sparse-embedding") o.sparse_embedding = true;
    else if (flag == "--bf16-allreduce") o.bf16_allreduce = true;
    else throw cli::UsageError("distgru-bench: unknown flag " + flag);
  }
  if (suites.empty()) throw cli::UsageError("distgru-bench: --suite is required");
  if (o.steps < 1 || o.warmup < 0 || o.batch_size < 1 || o.allreduce_iters < 1) {
    throw cli::UsageError("distgru-bench: --steps >= 1, --warmup >= 0, --batch >= 1, --allreduce-iters >= 1");
  }
  return o;
}

}  // namespace
}  // namespace distgru::bench

namespace {
constexpr const char* kUsage = R"(Usage: mpirun -np R distgru-bench --suite S[,S...] [options]   (bench/run.sh drives it)

Suites: train (training throughput, gradient-sync share, evaluation throughput,
peak memory), io (HDF5 shard read), allreduce (distgru's gradient path vs bare
MPI_Allreduce), gemm (the BLAS floor), gru (the encoder alone, fast vs ATen),
attend (the attention stage alone, fused vs ATen op by op).

Options:
  --json FILE        write the results here (default: stdout, rank 0)
  --data DIR         prepared IMDB data (default: random tokens)
  --threads T        threads per rank (0: cores / ranks on this host)
  --batch N          global batch (128)          --steps N   timed steps (12)
  --warmup N         untimed steps first (3)     --eval-samples N  test reviews scored (2048)
  --allreduce-iters N  timed allreduces per path (20)
  --vocab/--sentence/--embed/--hidden/--attention N   model sizes (the tutorial's)
  --aten-gru         use torch::nn::GRU instead of distgru's fast GRU
  --dense-words      the fast GRU always multiplies the dense [B, T, E] input, not
                     each distinct word of the batch once (the baseline for it)
  --precision P      fp32 or bf16: the fast GRU's products (train suite; bf16
                     falls back to fp32 with a note where the CPU lacks it)
  --gru-variants L   gru suite: only these of fast_fp32_aten_blas,
                     fast_fp32_small_blocks, fast_fp32_onednn, fast_bf16_onednn,
                     aten, onednn_lbr_gru_fp32, onednn_lbr_gru_bf16 (default all)
  --keep-denormals   compute with denormal floats instead of flushing them to
                     zero (runtime/process_settings.h), to measure what that buys
  --no-overlap       reduce the gradient buckets after backward, not during it
  --sparse-embedding sync the embedding's gradient as touched rows (train suite)
  --bf16-allreduce   send the dense buckets as bfloat16 (train and allreduce suites)
)";
}  // namespace

int main(int argc, char** argv) {
  using namespace distgru;
  for (int i = 1; i < argc; ++i) {
    if (std::string(argv[i]) == "--help" || std::string(argv[i]) == "-h") {
      std::cout << kUsage;
      return 0;
    }
  }
  return cli::run_mpi_program(argc, argv, [](dist::MpiSession& session, int ac, char** av) {
    std::vector<std::string> suites;
    std::string json_path;
    auto options = bench::parse(ac, av, suites, json_path);
    auto comm = dist::create_communicator(session, dist::Backend::kMpi, dist::kDefaultCollectiveTimeout);
    options.threads = runtime::configure_threads(options.threads, comm->local_size());
    if (options.keep_denormals) at::globalContext().setFlushDenormal(false);
    std::string precision_note;
    options.precision = model::effective_precision(options.precision, &precision_note);
    nlohmann::json out = {{"ranks", comm->size()},
                          {"threads", options.threads},
                          {"global_batch", options.batch_size},
                          {"fast_gru", options.fast_gru},
                          {"distinct_words", options.distinct_words},
                          {"blas", runtime::blas_summary()},
                          {"gru", model::fast_gru_summary(options.precision)},
                          {"precision", choice_name(options.precision)},
                          {"precision_note", precision_note},
                          {"flush_denormals", runtime::flushes_denormals()},
                          {"allocator_tunables", runtime::allocator_tunables()},
                          {"overlap", options.overlap},
                          {"sparse_embedding", options.sparse_embedding},
                          {"bf16_allreduce", options.bf16_allreduce},
                          {"synthetic", options.data_dir.empty()}};
    for (const auto& suite : suites) {
      if (suite == "train") out["train"] = bench::run_train(options, *comm);
      else if (suite == "io") out["io"] = bench::run_io(options, *comm);
      else if (suite == "allreduce") out["allreduce"] = bench::run_allreduce(options, *comm);
      else if (suite == "gemm") out["gemm"] = bench::run_gemm(options, *comm);
      else if (suite == "gru") out["gru"] = bench::run_gru(options, *comm);
      else if (suite == "attend") out["attend"] = bench::run_attend(options, *comm);
      else throw cli::UsageError("distgru-bench: unknown suite " + suite);
    }
    out["peak_rss_mb_max_rank"] = bench::max_over_ranks(*comm, bench::peak_rss_mb());
    if (comm->rank() == 0) {
      if (json_path.empty()) {
        std::cout << out.dump(2) << std::endl;
      } else {
        write_file_atomic(json_path, out.dump(2) + "\n");
      }
    }
    return 0;
  });
}
