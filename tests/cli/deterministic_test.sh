#!/usr/bin/env bash
# --deterministic under mpirun on the CPU: the switches are made and logged
# (cuDNN, cuBLAS's workspace, LibTorch's deterministic algorithms), the
# checkpoint's config records the setting, and every operation of a CPU
# training step has a deterministic kernel (LibTorch would throw, naming
# one that has not): the run trains and its step losses are those of the
# same run without the flag, bit for bit, since the CPU path is
# deterministic already. The GPU half (two CUDA runs, the same losses) is in
# tests/gpu/run_gpu_checks.sh.
#   tests/cli/deterministic_test.sh <bin dir> <imdb archive> <source dir>
source "$(dirname "$0")/common.sh"
set +e
prepare_small "$tmp/data" 1000 200
train() {  # DIR [flags]
  local dir=$1; shift
  mpirun_np 2 "$bin/distgru-train" --config "$src/configs/tiny.ini" --data "$tmp/data" --checkpoint-dir "$dir" \
    --threads 1 --steps 20 --eval-every 100 --log-every 1 "$@" >"$dir.log" 2>&1
}
train "$tmp/plain"
train "$tmp/det" --deterministic 1
check "--deterministic trained 20 steps" grep -q "trained 20 steps" "$tmp/det.log"
check "and logged the switches" grep -q "deterministic: cuDNN deterministic algorithms, cuDNN benchmark off, CUBLAS_WORKSPACE_CONFIG=:4096:8" "$tmp/det.log"
check "the effective config records it" grep -q "^deterministic = true" "$tmp/det.log"
check "20 step losses" test "$(step_losses "$tmp/det/metrics.jsonl" | wc -l)" == 20
check "bit for bit the run without it (the CPU path is deterministic already)" \
  diff <(step_losses "$tmp/plain/metrics.jsonl") <(step_losses "$tmp/det/metrics.jsonl")
CUBLAS_WORKSPACE_CONFIG=:16:8 train "$tmp/mine" --deterministic 1
check "a CUBLAS_WORKSPACE_CONFIG of the user's is kept" grep -q "CUBLAS_WORKSPACE_CONFIG=:16:8 (yours)" "$tmp/mine.log"
finish
