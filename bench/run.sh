#!/usr/bin/env bash
# Runs the whole benchmark suite and prints the table (bench/README.md).
#
#   bench/run.sh --data DIR [--build BUILD_DIR] [--out OUT_DIR] [--steps N] [--warmup N]
#                [--baseline-build OTHER_BUILD_DIR [--pairs N]] [--ddp-pairs N]
#   bench/run.sh --tiny     (smoke run: tiny model, random tokens, seconds)
#   bench/run.sh --cluster [bench/cluster.sh's options]   (across namespace hosts
#                           with limited links; root; bench/cluster.sh --help)
#
# DIR is a prepared directory (distgru-prepare). Writes one JSON per run and
# OUT_DIR/bench.json with everything; the PyTorch baseline runs in the same
# invocation, on the same data and batch, when /usr/bin/python3 has torch.
# --baseline-build: another build's distgru-bench (of another commit) runs
# the 2 x 1 training and allreduce suites too, alternating with this build's
# N times (3), and the table gives their ratios: an A/B in the same run.
# --ddp-pairs N (3; 0: none): after the table's runs, distgru 2 x 1 and
# PyTorch DDP 2 x 1 (as shipped and tuned) alternate N times more, and the
# report gives distgru's ratio to the faster DDP in each pair: a change in
# the host's load between the parts of a run then falls on both sides.
set -euo pipefail

here=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
root=$(dirname "$here")
build=${DISTGRU_BUILD:-$root/build}
data=""
out=""
steps=12
warmup=3
tiny=0
baseline=""
pairs=3
ddp_pairs=3
if [[ ${1:-} == --cluster ]]; then
  shift
  exec "$here/cluster.sh" "$@"
fi
while [[ $# -gt 0 ]]; do
  case "$1" in
    --baseline-build) baseline=$2; shift 2 ;;
    --pairs) pairs=$2; shift 2 ;;
    --ddp-pairs) ddp_pairs=$2; shift 2 ;;
    --data) data=$2; shift 2 ;;
    --build) build=$2; shift 2 ;;
    --out) out=$2; shift 2 ;;
    --steps) steps=$2; shift 2 ;;
    --warmup) warmup=$2; shift 2 ;;
    --tiny) tiny=1; shift ;;
    -h|--help) sed -n '2,20p' "$0" | sed 's/^# \{0,1\}//'; exit 0 ;;
    *) echo "bench/run.sh: unknown option $1" >&2; exit 2 ;;
  esac
done
bench=$build/bin/distgru-bench
[[ -x "$bench" ]] || { echo "bench/run.sh: $bench not built (cmake --build $build --target distgru-bench)" >&2; exit 1; }
if [[ -n "$baseline" ]]; then
  [[ -x "$baseline/bin/distgru-bench" ]] || { echo "bench/run.sh: $baseline/bin/distgru-bench not built" >&2; exit 1; }
fi
out=${out:-$build/bench-results}
mkdir -p "$out"
rm -f "$out"/*.json

if (( tiny )); then
  # Small enough for CI; every suite and every code path still runs.
  sizes=(--vocab 200 --sentence 16 --embed 8 --hidden 8 --attention 4 --batch 8)
  steps=2; warmup=1; ddp_pairs=$(( ddp_pairs > 0 ? 1 : 0 ))
  src=(); py_src=(--synthetic)
  extra=(--eval-samples 16)
else
  [[ -n "$data" && -f "$data/manifest.json" ]] || { echo "bench/run.sh: --data must name a prepared directory" >&2; exit 2; }
  sizes=(--vocab 20000 --sentence 256 --embed 100 --hidden 128 --attention 32 --batch 128)
  src=(--data "$data"); py_src=(--data "$data")
  extra=()
fi
common=("${sizes[@]}" --steps "$steps" --warmup "$warmup")
cores=$(env -u OMP_NUM_THREADS -u OMP_THREAD_LIMIT nproc)

# distgru under mpirun, bound as launch/train_local.sh binds: RANKS x THREADS.
run_distgru() {  # name ranks threads suites [distgru-bench flags]
  run_bench "$bench" "$@"
}
run_bench() {  # binary name ranks threads suites [distgru-bench flags]
  local binary=$1 name=$2 ranks=$3 threads=$4 suites=$5
  shift 5
  local args=(-np "$ranks")
  if (( ranks * threads <= cores )); then args+=(--map-by "slot:PE=$threads" --bind-to core)
  else args+=(--oversubscribe --bind-to none); fi
  [[ $(id -u) == 0 ]] && args+=(--allow-run-as-root)
  args+=(-x OMP_NUM_THREADS="$threads" -x OPENBLAS_NUM_THREADS="$threads")
  echo "== distgru $name: $ranks rank(s) x $threads thread(s): $suites ($binary)" >&2
  mpirun "${args[@]}" "$binary" --suite "$suites" --threads "$threads" "${src[@]}" "${common[@]}" \
    "${extra[@]}" "$@" --json "$out/distgru_$name.json" >"$out/distgru_$name.log" 2>&1 ||
    { cat "$out/distgru_$name.log" >&2; exit 1; }
}

# PyTorch: out of the box, then each thread count, and each again with the
# settings distgru chose for itself: its OpenBLAS kernels, its allocator
# (glibc's malloc keeping large blocks on the heap: the same tunables,
# runtime/process_settings.h) and denormals flushed to zero (the best is
# picked later, so "PyTorch best" has every setting distgru has).
run_pytorch() {  # threads [tuned [ddp_ranks [name_suffix]]]
  local threads=$1 tuned=${2:-} ddp=${3:-0} suffix=${4:-} env=() args=() name=$1
  [[ "$threads" != default ]] && env=(OMP_NUM_THREADS="$threads" OPENBLAS_NUM_THREADS="$threads")
  if [[ -n "$tuned" ]]; then
    [[ -n "$core" ]] && env+=(OPENBLAS_CORETYPE="$core")
    [[ -n "$malloc_tunables" ]] && env+=(GLIBC_TUNABLES="$malloc_tunables")
    args=(--flush-denormal)
    name=${threads}_tuned
  fi
  local what=pytorch
  if (( ddp > 0 )); then
    args+=(--ddp-ranks "$ddp" --port $((29500 + RANDOM % 500)))
    name=ddp${ddp}x$name$suffix
    what="pytorch DDP (gloo), $ddp processes"
  fi
  echo "== $what, threads $threads${tuned:+, with the settings distgru chose (${core:+OPENBLAS_CORETYPE=$core, }${malloc_tunables:+GLIBC_TUNABLES=$malloc_tunables, }denormals flushed)}" >&2
  env "${env[@]}" /usr/bin/python3 "$here/pytorch_baseline.py" "${py_src[@]}" "${sizes[@]}" \
    --steps "$steps" --warmup "$warmup" --threads "$threads" "${args[@]}" --json "$out/pytorch_$name.json"
}

run_distgru probe 1 1 gemm,io
# "OpenBLAS SkylakeX kernels (it detected Prescott ...; OPENBLAS_CORETYPE set by distgru)"
core=$(/usr/bin/python3 -c 'import json, sys; b = json.load(open(sys.argv[1])).get("blas", "")
print(b.split()[1] if "set by distgru" in b else "")' "$out/distgru_probe.json")
malloc_tunables=$(/usr/bin/python3 -c 'import json, sys
print(json.load(open(sys.argv[1])).get("allocator_tunables", ""))' "$out/distgru_probe.json")
# The floor of a run on every core: that many single-thread GEMM probes at
# once (one alone would give one core's figure: issue 16).
(( cores >= 2 )) && run_distgru "probe_${cores}x1" "$cores" 1 gemm
run_distgru 1x1 1 1 train
(( cores >= 2 )) && run_distgru 1x2 1 2 train
run_distgru 2x1 2 1 train,io,allreduce
# bf16 products (--precision bf16) where the CPU has AVX512_BF16 or AMX; the
# run records a fallback to fp32 elsewhere, and the report says so.
run_distgru 2x1_bf16 2 1 train --precision bf16
# The GRU alone at one rank's batch of the 2-rank run: every way distgru
# can run its products, ATen's GRU and oneDNN's lbr_gru (bench/gru_bench.cpp);
# then the attention stage alone, fused against ATen op by op
# (bench/attend_bench.cpp).
run_distgru gru 1 1 gru,attend --batch 64
# What flushing denormals to zero buys (runtime/process_settings.h), in the same run.
run_distgru 2x1_denormals 2 1 train --keep-denormals
# What reading each distinct word once buys (model/attention_gru.h): the
# GRU's input-side products on the dense [B, T, E] input instead.
run_distgru 2x1_dense_words 2 1 train --dense-words
# A/B against another build, alternating so that both see the same load.
if [[ -n "$baseline" ]]; then
  for i in $(seq 1 "$pairs"); do
    run_bench "$baseline/bin/distgru-bench" "ab_baseline_$i" 2 1 train,allreduce
    run_distgru "ab_this_$i" 2 1 train,allreduce
  done
fi
if /usr/bin/python3 -c 'import torch' 2>/dev/null; then
  run_pytorch default
  for t in $(seq 1 "$cores"); do
    run_pytorch "$t"
    run_pytorch "$t" tuned
  done
  # The peer of distgru's 2 ranks x 1 thread: DistributedDataParallel, 2
  # processes x 1 thread over gloo, as shipped and with distgru's settings.
  if (( cores >= 2 )); then
    run_pytorch 1 "" 2
    run_pytorch 1 tuned 2
    # The same peers again, alternating with distgru 2 x 1 (--ddp-pairs).
    for i in $(seq 1 "$ddp_pairs"); do
      run_distgru "ddp_pair_$i" 2 1 train
      run_pytorch 1 "" 2 "_pair_$i"
      run_pytorch 1 tuned 2 "_pair_$i"
    done
  fi
else
  echo "bench/run.sh: /usr/bin/python3 has no torch (apt-get install python3-torch python3-h5py);" \
       "the PyTorch baseline is skipped" >&2
fi
/usr/bin/python3 "$here/report.py" "$out"
