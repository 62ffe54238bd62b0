// The allreduce micro-benchmark and the GEMM probe.
//
// Allreduce: the model's gradients through distgru's path (GradientSync:
// copy in, one allreduce, copy out) against a bare MPI_Allreduce of a buffer
// of the same size. Bus bandwidth as nccl-tests defines it, so figures compare
// across world sizes: busbw = algbw * 2(n-1)/n, algbw = bytes / time.
//
// GEMM: square float GEMMs through LibTorch's BLAS on one core and on all the
// cores; the best rate is the floor against which a step's GFLOP/s is judged.

#include <mpi.h>

#include <chrono>
#include <mutex>

#include "bench/bench_common.h"
#include "model/onednn_gemm.h"
#include "distributed/gradient_sync.h"
#include "distributed/mpi_session.h"
#include "runtime/process_settings.h"

namespace distgru::bench {
namespace {


constexpr int kAllreduceWarmup = 3;

double bus_bandwidth_gbs(double bytes, double seconds, int n) {
  return n < 2 ? 0.0 : bytes / seconds * 2.0 * (n - 1) / n / 1e9;
}

template <typename Fn>
Stats time_collective(dist::Communicator& comm, int64_t iterations, Fn fn) {
  std::vector<double> s;
  for (int64_t i = 0; i < kAllreduceWarmup + iterations; ++i) {
    comm.barrier();  // start together: time the collective, not the skew
    const auto start = Clock::now();
    fn();
    if (i >= kAllreduceWarmup) s.push_back(since(start));
  }
  return Stats::of(s);
}

}  // namespace

nlohmann::json run_allreduce(const Options& o, dist::Communicator& comm) {
  torch::manual_seed(7);
  model::AttentionGRU model(o.model_config());
  auto params = model->parameters();
  for (auto& p : params) p.mutable_grad() = torch::randn_like(p);
  dist::GradientSyncOptions options;  // one fused buffer, as the bare call
  if (o.bf16_allreduce) options.wire_dtype = torch::kBFloat16;
  dist::GradientSync sync(comm, params, options);
  const double bytes = static_cast<double>(sync.bytes());
  const auto ours = time_collective(comm, o.allreduce_iters, [&] { sync.allreduce_gradients(); });
  const double wire_bytes = static_cast<double>(sync.last_volume().dense_bytes);

  auto flat = torch::randn({sync.numel()}) * 1e-3;  // sums stay far from overflow
  float* data = flat.data_ptr<float>();
  const int count = static_cast<int>(sync.numel());
  const auto bare = time_collective(comm, o.allreduce_iters, [&] {
    // The communicator's thread is idle here; the lock keeps it that way.
    std::lock_guard<std::mutex> lock(dist::mpi_call_mutex());
    const int rc = MPI_Allreduce(MPI_IN_PLACE, data, count, MPI_FLOAT, MPI_SUM, MPI_COMM_WORLD);
    DISTGRU_CHECK(rc == MPI_SUCCESS, "bench: MPI_Allreduce failed");
  });
  const int n = comm.size();
  // Bus bandwidth over the bytes each path moved (half of the float
  // gradient's with --bf16-allreduce), and the float gradient's bytes per
  // second it achieved in effect ("gradient" figures compare the two paths).
  return {{"bytes", bytes},
          {"wire_bytes", wire_bytes},
          {"wire_dtype", o.bf16_allreduce ? "bfloat16" : "float"},
          {"distgru_seconds", ours.to_json()},
          {"mpi_seconds", bare.to_json()},
          {"distgru_busbw_gbs", bus_bandwidth_gbs(wire_bytes, ours.median, n)},
          {"distgru_gradient_busbw_gbs", bus_bandwidth_gbs(bytes, ours.median, n)},
          {"mpi_busbw_gbs", bus_bandwidth_gbs(bytes, bare.median, n)}};
}

namespace {

// One product C = A B of the given library and shape, to time.
struct GemmProbe {
  std::string library;  // "openblas" (ATen's BLAS), "onednn_fp32", "onednn_bf16"
  int64_t m, k, n;
  torch::Tensor a, b, c;

  GemmProbe(std::string lib, int64_t m_, int64_t k_, int64_t n_) : library(std::move(lib)), m(m_), k(k_), n(n_) {
    const auto type = library == "onednn_bf16" ? torch::kBFloat16 : torch::kFloat;
    a = torch::randn({m, k}).to(type);
    b = torch::randn({k, n}).to(type);
    c = torch::empty({m, n});
  }
  void run() {
    if (library == "openblas") {
      at::mm_out(c, a, b);
      return;
    }
    model::onednn_product(a, b, c);
  }
};

}  // namespace

nlohmann::json run_gemm(const Options& o, dist::Communicator& comm) {
  // 1024 is large enough for OpenBLAS to reach its peak on these cores;
  // a tiny run (smoke test) probes a small size quickly.
  const bool full = o.sentence_size >= 128;
  const int64_t n = full ? 1024 : 128;
  // Best of 10 timings (after 3), each of `repeat` products: every rank on
  // one thread at once (barrier first) when together, else this rank alone.
  auto best_gflops = [&](GemmProbe& g, bool together, int repeat) {
    std::vector<double> s;
    for (int i = 0; i < 3 + 10; ++i) {
      if (together) comm.barrier();
      const auto start = Clock::now();
      for (int r = 0; r < repeat; ++r) g.run();
      if (i >= 3) s.push_back(since(start));
    }
    return 2.0 * g.m * g.k * g.n * repeat / Stats::of(s).min / 1e9;
  };
  std::vector<std::string> libraries = {"openblas"};
  if (model::onednn_available()) libraries.push_back("onednn_fp32");
  if (model::onednn_native_bf16()) libraries.push_back("onednn_bf16");
  // The square probe, then the shapes the GRU multiplies at one rank's
  // batch of 64: a step's [64 x 128] x [128 x 384] (512 of them per pass),
  // and the input projection of both directions, [64*256 x 100] x [100 x 768].
  struct Shape {
    std::string name;
    int64_t m, k, n;
    int repeat;
  };
  std::vector<Shape> shapes = {{"square", n, n, n, 1}};
  if (full) {
    shapes.push_back({"gru_step", 64, 128, 384, 64});
    shapes.push_back({"gru_input_projection", 64 * 256, 100, 768, 1});
  }
  nlohmann::json out = {{"size", n}};
  runtime::configure_threads(1, 1);
  for (const auto& shape : shapes) {
    for (const auto& library : libraries) {
      GemmProbe g(library, shape.m, shape.k, shape.n);
      auto sum = torch::tensor({best_gflops(g, true, shape.repeat)}, torch::kDouble);
      auto low = sum.clone();
      comm.allreduce(sum, dist::ReduceOp::kSum);
      comm.allreduce(low, dist::ReduceOp::kMin);
      auto& entry = out["shapes"][shape.name];
      entry["mkn"] = {shape.m, shape.k, shape.n};
      entry[library] = {{"gflops_concurrent_sum", sum.item<double>()},
                        {"gflops_concurrent_min_rank", low.item<double>()}};
      if (comm.rank() == 0) entry[library]["gflops_1_thread"] = best_gflops(g, false, shape.repeat);
    }
  }
  comm.barrier();
  // The floors: fp32's is the best fp32 library's square product (OpenBLAS
  // or oneDNN, whichever is faster here); bf16's is oneDNN's bf16.
  const auto& square = out["shapes"]["square"];
  auto best_of = [&](const std::vector<std::string>& libs, const char* key) {
    double best = 0;
    std::string which;
    for (const auto& l : libs) {
      if (square.contains(l) && square[l].contains(key) && square[l][key].get<double>() > best) {
        best = square[l][key].get<double>();
        which = l;
      }
    }
    return std::make_pair(best, which);
  };
  const auto [sum, fp32_library] = best_of({"openblas", "onednn_fp32"}, "gflops_concurrent_sum");
  out["fp32_floor_library"] = fp32_library;
  out["ranks"] = comm.size();
  out["gflops_concurrent_sum"] = sum;
  out["gflops_concurrent_min_rank"] = square[fp32_library]["gflops_concurrent_min_rank"];
  if (comm.rank() == 0) out["gflops_1_thread"] = best_of({"openblas", "onednn_fp32"}, "gflops_1_thread").first;
  if (square.contains("onednn_bf16")) {
    out["bf16_gflops_concurrent_sum"] = square["onednn_bf16"]["gflops_concurrent_sum"];
    if (comm.rank() == 0) out["bf16_gflops_1_thread"] = square["onednn_bf16"]["gflops_1_thread"];
  }
  out["cores"] = runtime::available_cores();
  runtime::configure_threads(o.threads, 1);
  return out;
}

}  // namespace distgru::bench
