// distgru-train: data-parallel training; launch with `mpirun -np N`.
#include <chrono>
#include <cstdio>

#include "cli/mpi_main.h"
#include "common/fault_injection.h"
#include "runtime/determinism.h"
#include "runtime/stop_signals.h"
#include "train/config.h"
#include "train/progress.h"
#include "train/runtime_options.h"
#include "train/trainer.h"

using namespace distgru;

int main(int argc, char** argv) {
  return cli::run_mpi_program(argc, argv, [](dist::MpiSession& session, int argc, char** argv) {
    const auto settings = cli::settings_or_help(session, [&] { return train::parse_train_args(argc, argv); });
    if (!settings) return 0;
    const auto& config = *settings;
    if (config.data_dir.empty()) throw cli::UsageError("--data is required (see --help)");
    runtime::install_stop_signal_handlers();
    const auto start = std::chrono::steady_clock::now();
    // Before the communicator: NCCL's start may bring CUDA up, and the
    // cuBLAS setting is read when cuBLAS starts.
    const std::string deterministic = config.deterministic ? runtime::make_deterministic() : "";
    auto comm = train::start_ranks(session, config.runtime, "distgru-train");
    if (!deterministic.empty()) spdlog::info("{}", deterministic);
    spdlog::info("effective config:\n{}", train::to_ini(config));

    train::Trainer trainer(config, *comm, file_system_from_test_environment());
    const auto result = trainer.run();
    if (result.stop_signal != 0) {
      spdlog::warn("exiting with status {}: checkpointed after signal {}, requeue to continue",
                   runtime::kExitCheckpointed, result.stop_signal);
      return runtime::kExitCheckpointed;
    }
    const double wall = std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
    if (comm->rank() == 0) {
      if (result.best_validation) {
        std::printf("validation accuracy %.4f  auc %.4f  (best, step %lld%s)\n", result.best_validation->accuracy,
                    result.best_validation->auc, static_cast<long long>(result.model_step),
                    result.model_averaged ? ", weight average" : "");
      } else if (result.best_step >= 0) {
        // The best validation came before a resume: only its score is in the checkpoint.
        const bool loss = config.select_metric == train::SelectMetric::kLoss;
        std::printf("validation %s %.4f  (best, step %lld, validated before the resume)\n",
                    choice_name(config.select_metric), loss ? -result.best_score : result.best_score,
                    static_cast<long long>(result.best_step));
      }
      if (result.test) {
        std::printf("test accuracy %.4f  auc %.4f  loss %.4f  (%lld reviews)\n", result.test->accuracy,
                    result.test->auc, result.test->loss, static_cast<long long>(result.test->samples));
      }
      std::printf("trained %lld steps at %.1f samples/s on %d ranks; wall time %s\n",
                  static_cast<long long>(result.steps), result.samples_per_second, comm->size(),
                  train::format_duration(wall).c_str());
      std::fflush(stdout);
    }
    return 0;
  });
}
