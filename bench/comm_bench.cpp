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
#include "distributed/gradient_sync.h"
#include "distributed/mpi_session.h"
#include "runtime/process_settings.h"

namespace distgru::bench {
namespace {

using Clock = std::chrono::steady_clock;
double since(Clock::time_point t) { return std::chrono::duration<double>(Clock::now() - t).count(); }

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

nlohmann::json run_gemm(const Options& o, dist::Communicator& comm) {
  // 1024 is large enough for OpenBLAS to reach its peak on these cores;
  // a tiny run (smoke test) probes a small size quickly.
  const int64_t n = o.sentence_size >= 128 ? 1024 : 128;
  const double flops = 2.0 * n * n * n;
  auto a = torch::randn({n, n}), b = torch::randn({n, n}), c = torch::empty({n, n});
  nlohmann::json out = {{"size", n}};
  auto best_gflops = [&](bool together) {
    std::vector<double> s;
    for (int i = 0; i < 3 + 10; ++i) {
      if (together) comm.barrier();
      const auto start = Clock::now();
      at::mm_out(c, a, b);
      if (i >= 3) s.push_back(since(start));
    }
    return flops / Stats::of(s).min / 1e9;
  };
  // Every rank on one thread, all at once.
  runtime::configure_threads(1, 1);
  auto sum = torch::tensor({best_gflops(true)}, torch::kDouble);
  auto low = sum.clone();
  comm.allreduce(sum, dist::ReduceOp::kSum);
  comm.allreduce(low, dist::ReduceOp::kMin);
  out["ranks"] = comm.size();
  out["gflops_concurrent_sum"] = sum.item<double>();
  out["gflops_concurrent_min_rank"] = low.item<double>();
  // Rank 0 alone: 1 thread, then every core it may use.
  const int cores = runtime::available_cores();
  if (comm.rank() == 0) {
    for (int threads : {1, cores}) {
      runtime::configure_threads(threads, 1);
      const double g = best_gflops(false);
      out["gflops_" + std::to_string(threads) + "_threads"] = g;
      if (threads == cores) out["gflops_all_cores"] = g;
      if (threads == 1) out["gflops_1_thread"] = g;
    }
  }
  comm.barrier();
  out["cores"] = cores;
  runtime::configure_threads(o.threads, 1);
  return out;
}

}  // namespace distgru::bench
