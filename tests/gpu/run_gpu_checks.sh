#!/usr/bin/env bash
# GPU checks, for a machine with NVIDIA GPUs, Open MPI, and a CUDA-enabled
# LibTorch (2.x; e.g. PyTorch's own torch/share/cmake). Builds distgru against
# it with the NCCL backend, runs the NCCL tests and a short training on the
# GPU(s), and prints a pass/fail table. Exit 0 only when everything passed.
#
#   tests/gpu/run_gpu_checks.sh [--torch-prefix DIR] [--archive PATH] [--build DIR]
#
# --torch-prefix  CMake prefix of the CUDA LibTorch (default: from python3's torch)
# NCCL is taken from NCCL_ROOT, else /usr/local/cuda, else python3's nvidia-nccl.
set -uo pipefail
root=$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)
build=$root/build-gpu
prefix=""
archive="$root/../shared/data/aclImdb_labeled.tar.gz"
while [[ $# -gt 0 ]]; do
  case "$1" in
    --torch-prefix) prefix=$2; shift 2 ;;
    --archive) archive=$2; shift 2 ;;
    --build) build=$2; shift 2 ;;
    -h|--help) sed -n '2,12p' "$0" | sed 's/^# \{0,1\}//'; exit 0 ;;
    *) echo "unknown option $1" >&2; exit 2 ;;
  esac
done
export OMPI_ALLOW_RUN_AS_ROOT=1 OMPI_ALLOW_RUN_AS_ROOT_CONFIRM=1
log=$build/gpu-checks.log
mkdir -p "$build"
: >"$log"
declare -a names results
record() { names+=("$1"); results+=("$2"); echo "== $1: $2" | tee -a "$log"; }
run() {  # run NAME command...
  local name=$1; shift
  echo "== $name: $*" >>"$log"
  if "$@" >>"$log" 2>&1; then record "$name" PASS; else record "$name" FAIL; fi
}
table() {
  printf '\n%-40s %s\n' CHECK RESULT
  local fails=0
  for i in "${!names[@]}"; do
    printf '%-40s %s\n' "${names[$i]}" "${results[$i]}"
    [[ ${results[$i]} == PASS ]] || fails=$((fails + 1))
  done
  echo "${#names[@]} checks, $fails failed (log: $log)"
  [[ $fails == 0 ]]
}

gpus=$(nvidia-smi -L 2>/dev/null | wc -l)
if (( gpus > 0 )); then record "GPUs visible ($gpus)" PASS; else record "GPUs visible" FAIL; table; exit 1; fi
if [[ -z $prefix ]]; then
  prefix=$(python3 -c 'import torch; print(torch.utils.cmake_prefix_path)' 2>>"$log") || prefix=""
fi
if [[ -n $prefix ]] && python3 -c 'import torch, sys; sys.exit(0 if torch.cuda.is_available() else 1)' 2>>"$log"; then
  record "CUDA LibTorch at $prefix" PASS
else
  record "CUDA LibTorch found" FAIL; table; exit 1
fi
# distgru's other dependencies (Boost, spdlog) use the C++11 string ABI.
if python3 -c 'import torch, sys; sys.exit(0 if torch._C._GLIBCXX_USE_CXX11_ABI else 1)' 2>>"$log"; then
  record "LibTorch uses the C++11 ABI" PASS
else
  record "LibTorch uses the C++11 ABI (use a cxx11-abi build)" FAIL
fi
if [[ -z ${NCCL_ROOT:-} && ! -f /usr/local/cuda/include/nccl.h ]]; then
  NCCL_ROOT=$(python3 -c 'import nvidia.nccl, os; print(os.path.dirname(nvidia.nccl.__file__))' 2>>"$log" || true)
  export NCCL_ROOT
  [[ -n $NCCL_ROOT && ! -e $NCCL_ROOT/lib/libnccl.so ]] && ln -sf "$NCCL_ROOT"/lib/libnccl.so.* "$NCCL_ROOT/lib/libnccl.so"
fi

run "configure with NCCL" cmake -S "$root" -B "$build" -DCMAKE_BUILD_TYPE=Release \
  -DCMAKE_PREFIX_PATH="$prefix" -DDISTGRU_BUILD_TESTS=ON
grep -q "NCCL backend enabled" "$log" && record "NCCL backend compiled" PASS || record "NCCL backend compiled" FAIL
run "build" cmake --build "$build" -j "$(nproc)"
run "unit tests" ctest --test-dir "$build" -L unit --output-on-failure
run "NCCL tests, 1 rank" mpirun -np 1 "$build/tests/dist/test_nccl"
if (( gpus >= 2 )); then
  run "NCCL tests, 2 ranks" mpirun -np 2 "$build/tests/dist/test_nccl"
fi
grep -q "SKIPPED" "$log" && record "NCCL tests ran (none skipped)" FAIL || record "NCCL tests ran (none skipped)" PASS

data=$build/gpu-data
run "prepare a small IMDB set" "$build/bin/distgru-prepare" --source "$archive" --out "$data" \
  --shards 2 --vocab-size 20000 --sentence-size 256 --max-train 6000 --max-test 2000
ranks=$(( gpus >= 2 ? 2 : 1 ))
run "train on $ranks GPU rank(s) with NCCL" mpirun -np "$ranks" "$build/bin/distgru-train" \
  --config "$root/configs/imdb_bigru_attention.ini" --data "$data" --checkpoint-dir "$build/gpu-run" \
  --backend nccl --epochs 2 --log-every 10
grep -q "backend nccl on cuda:0" "$log" && record "trainer used NCCL on cuda:0" PASS || record "trainer used NCCL on cuda:0" FAIL
acc=$(grep -o '"accuracy": *[0-9.]*' "$build/gpu-run/test_metrics.json" 2>/dev/null | sed 's/.*: *//')
if awk -v a="${acc:-0}" 'BEGIN { exit !(a > 0.75) }'; then
  record "GPU run learns (test accuracy $acc)" PASS
else
  record "GPU run learns (test accuracy ${acc:-none})" FAIL
fi
grep "samples/s" "$log" | tail -3
table
