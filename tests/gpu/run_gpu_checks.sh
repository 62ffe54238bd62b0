#!/usr/bin/env bash
# GPU checks, for a machine with NVIDIA GPUs and a CUDA-enabled LibTorch (2.x;
# e.g. PyTorch's own torch/share/cmake). Builds distgru against it with the
# NCCL backend, runs the unit tests and the NCCL tests, trains the README's
# configuration on the GPU(s), resumes a GPU checkpoint, scores it on GPU and
# CPU, and prints a pass/fail table. Exit 0 only when everything passed.
#
#   tests/gpu/run_gpu_checks.sh [--torch-prefix DIR] [--archive PATH | --data DIR]
#                               [--debs DIR] [--build DIR] [--out DIR]
#
# --torch-prefix  CMake prefix of the CUDA LibTorch (default: from python3's torch)
# --archive       IMDB archive to prepare (default ../shared/data/aclImdb_labeled.tar.gz)
# --data          an already prepared data directory (skips distgru-prepare)
# --debs          Debian 12 .deb files of Open MPI, HDF5, Boost, ... for a host
#                 that lacks them and has no network (tests/gpu/offline_debs.sh)
# --out           copy the log and the run's metrics here
# NCCL is taken from NCCL_ROOT, else /usr/local/cuda, else python3's nvidia-nccl.
set -uo pipefail
root=$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)
build=$root/build-gpu
prefix="" data="" debs="" out=""
archive="$root/../shared/data/aclImdb_labeled.tar.gz"
while [[ $# -gt 0 ]]; do
  case "$1" in
    --torch-prefix) prefix=$2; shift 2 ;;
    --archive) archive=$2; shift 2 ;;
    --data) data=$2; shift 2 ;;
    --debs) debs=$2; shift 2 ;;
    --build) build=$2; shift 2 ;;
    --out) out=$2; shift 2 ;;
    -h|--help) sed -n '2,17p' "$0" | sed 's/^# \{0,1\}//'; exit 0 ;;
    *) echo "unknown option $1" >&2; exit 2 ;;
  esac
done
export OMPI_ALLOW_RUN_AS_ROOT=1 OMPI_ALLOW_RUN_AS_ROOT_CONFIRM=1
# Shared memory within the host, TCP between hosts; no InfiniBand probing.
export OMPI_MCA_pml=ob1 OMPI_MCA_btl=self,vader,tcp
log=$build/gpu-checks.log
mkdir -p "$build"
: >"$log"
declare -a names results
record() { names+=("$1"); results+=("$2"); echo "== $1: $2 ($(date +%T))" | tee -a "$log"; }
run() {  # run NAME command...
  local name=$1; shift
  echo "== $name: $*" >>"$log"
  local t0=$SECONDS
  if "$@" >>"$log" 2>&1; then record "$name [$((SECONDS - t0)) s]" PASS
  else record "$name [$((SECONDS - t0)) s]" FAIL; fi
}
table() {
  printf '\n%-58s %s\n' CHECK RESULT
  local fails=0
  for i in "${!names[@]}"; do
    printf '%-58s %s\n' "${names[$i]}" "${results[$i]}"
    [[ ${results[$i]} == PASS ]] || fails=$((fails + 1))
  done
  echo "${#names[@]} checks, $fails failed (log: $log)"
  if [[ -n $out ]]; then
    mkdir -p "$out"
    cp "$log" "$out/" 2>/dev/null
    for f in metrics.jsonl test_metrics.json; do cp "$build/gpu-run/$f" "$out/gpu-run-$f" 2>/dev/null; done
  fi
  [[ $fails == 0 ]]
}
json_field() {  # json_field FILE KEY -> the number after "KEY":
  grep -o "\"$2\": *[0-9.eE+-]*" "$1" 2>/dev/null | head -1 | sed 's/.*: *//'
}

gpus=$(nvidia-smi -L 2>/dev/null | wc -l)
if (( gpus > 0 )); then record "GPUs visible ($gpus)" PASS; else record "GPUs visible" FAIL; table; exit 1; fi
nvidia-smi -L >>"$log" 2>&1
if [[ -z $prefix ]]; then
  prefix=$(python3 -c 'import torch; print(torch.utils.cmake_prefix_path)' 2>>"$log") || prefix=""
fi
if [[ -n $prefix ]] && python3 -c 'import torch, sys; print("torch", torch.__version__); sys.exit(0 if torch.cuda.is_available() else 1)' >>"$log" 2>&1; then
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

cmake_args=()
if [[ -n $debs ]]; then
  # Unpack the packages into a private prefix. Where the host already has a
  # library, the prefix's soname link points at the host's copy, so tools of
  # the host that run under LD_LIBRARY_PATH keep their own versions. Open MPI
  # and HDF5 always come from the packages, whole.
  sysroot=$build/sysroot
  rm -rf "$sysroot" && mkdir -p "$sysroot"
  for f in "$debs"/*.deb; do dpkg-deb -x "$f" "$sysroot"; done
  usr=$sysroot/usr lib=$sysroot/usr/lib/x86_64-linux-gnu
  ldconfig -p | awk '/x86-64/ { print $1, $NF }' >"$build/host-libs.txt"
  while read -r name path; do
    case $name in libmpi*|libopen-*|libmca*|liboshmem*|libhdf5*|libompitrace*) continue ;; esac
    [[ -e $lib/$name || -L $lib/$name ]] && ln -sfn "$path" "$lib/$name"
  done <"$build/host-libs.txt"
  export OPAL_PREFIX=$usr PATH=$usr/bin:$PATH LD_LIBRARY_PATH=$lib${LD_LIBRARY_PATH:+:$LD_LIBRARY_PATH}
  ln -sf mpirun.openmpi "$usr/bin/mpirun"
  cmake_args+=(-DCMAKE_PREFIX_PATH="$prefix;$usr"
    -DMPI_CXX_COMPILER="$usr/bin/mpicxx.openmpi" -DMPIEXEC_EXECUTABLE="$usr/bin/mpirun.openmpi"
    -DHDF5_C_INCLUDE_DIR="$usr/include/hdf5/serial"
    -DHDF5_hdf5_LIBRARY_RELEASE="$lib/hdf5/serial/libhdf5.so"
    -DLibArchive_ROOT="$usr" -DOPENSSL_ROOT_DIR="$usr")
  record "Debian packages unpacked ($(ls "$debs"/*.deb | wc -l))" PASS
else
  cmake_args+=(-DCMAKE_PREFIX_PATH="$prefix")
fi
mpirun --version >>"$log" 2>&1 && record "Open MPI usable" PASS || record "Open MPI usable" FAIL

gen=()
command -v ninja >/dev/null && gen=(-G Ninja)
run "configure with NCCL" cmake -S "$root" -B "$build" "${gen[@]}" -DCMAKE_BUILD_TYPE=Release \
  -DDISTGRU_BUILD_TESTS=ON "${cmake_args[@]}"
grep -q "NCCL backend enabled" "$log" && record "NCCL backend compiled" PASS || record "NCCL backend compiled" FAIL
run "build" cmake --build "$build" -j "$(env -u OMP_NUM_THREADS -u OMP_THREAD_LIMIT nproc)"
[[ -x $build/bin/distgru-train ]] || { table; exit 1; }
run "unit tests (CUDA LibTorch build)" ctest --test-dir "$build" -L unit -j "$(env -u OMP_NUM_THREADS -u OMP_THREAD_LIMIT nproc)" --output-on-failure
# GPU machines are lent for minutes: a test that crashes here is rerun at once
# under a debugger, so the log carries its backtrace.
dbg=$(command -v gdb || command -v cuda-gdb || ls /usr/local/cuda/bin/cuda-gdb 2>/dev/null || true)
failed_list=$build/Testing/Temporary/LastTestsFailed.log
if [[ -n $dbg && -s $failed_list ]]; then
  for name in $(cut -d: -f2 "$failed_list" | head -2); do
    cmdline=$(ctest --test-dir "$build" -N -V -R "^${name}\$" | sed -n 's/.*Test command: //p' | head -1)
    echo "== backtrace of $name ($dbg): $cmdline" >>"$log"
    # shellcheck disable=SC2086  # the command line is ctest's, words as ctest split them
    eval "timeout 120 $dbg -batch -ex run -ex bt -ex 'info sharedlibrary' --args $cmdline" >>"$log" 2>&1
  done
fi
run "NCCL tests, 1 rank" mpirun -np 1 "$build/tests/distributed/test_nccl"
if (( gpus >= 2 )); then
  run "NCCL tests, 2 ranks" mpirun -np 2 "$build/tests/distributed/test_nccl"
fi
grep -q "SKIPPED" "$log" && record "NCCL tests ran (none skipped)" FAIL || record "NCCL tests ran (none skipped)" PASS

if [[ -z $data ]]; then
  data=$build/gpu-data
  run "prepare the IMDB data" "$build/bin/distgru-prepare" --source "$archive" --out "$data" --shards 2
fi
ranks=$(( gpus >= 2 ? 2 : 1 ))
cfg=$root/configs/imdb_bigru_attention.ini  # with --glove none below: no fastText here, and the checks are of the GPU path
rm -rf "$build/gpu-run" "$build/gpu-resume"
run "train the README config on $ranks GPU rank(s) with NCCL" mpirun -np "$ranks" "$build/bin/distgru-train" \
  --config "$cfg" --data "$data" --checkpoint-dir "$build/gpu-run" --backend nccl --log-every 50 --glove none
grep -q "backend nccl on cuda:0" "$log" && record "trainer used NCCL on cuda:0" PASS || record "trainer used NCCL on cuda:0" FAIL
grep -q "reduced during backward" "$log" && record "NCCL buckets reduced during backward (started from the gradient hooks)" PASS \
  || record "NCCL buckets reduced during backward (started from the gradient hooks)" FAIL
acc=$(json_field "$build/gpu-run/test_metrics.json" accuracy)
auc=$(json_field "$build/gpu-run/test_metrics.json" auc)
if awk -v a="${acc:-0}" -v u="${auc:-0}" 'BEGIN { exit !(a > 0.85 && u > 0.92) }'; then
  record "GPU run learns (test accuracy $acc, AUC $auc)" PASS
else
  record "GPU run learns (test accuracy ${acc:-none}, AUC ${auc:-none})" FAIL
fi
grep "samples/s" "$log" | tail -3

# A GPU checkpoint scored again on the GPU gives the trainer's figures; on
# the CPU (another GRU implementation) the same to within rounding.
run "eval best.pt on the GPU" "$build/bin/distgru-eval" --checkpoint "$build/gpu-run" --data "$data" \
  --backend nccl --output "$build/gpu-eval.json"
gacc=$(json_field "$build/gpu-eval.json" accuracy)
[[ -n $gacc && $gacc == "$acc" ]] && record "GPU eval matches training ($gacc)" PASS \
  || record "GPU eval matches training (${gacc:-none} vs ${acc:-none})" FAIL
run "eval the GPU checkpoint on the CPU" "$build/bin/distgru-eval" --checkpoint "$build/gpu-run" \
  --data "$data" --backend mpi --output "$build/cpu-eval.json"
cacc=$(json_field "$build/cpu-eval.json" accuracy)
if awk -v a="${acc:-0}" -v c="${cacc:-9}" 'BEGIN { d = a - c; if (d < 0) d = -d; exit !(d <= 0.002) }'; then
  record "CPU eval of the GPU checkpoint agrees ($cacc)" PASS
else
  record "CPU eval of the GPU checkpoint agrees (${cacc:-none} vs ${acc:-none})" FAIL
fi

# Resume on the GPU: 30 steps, then on to 40 from the step-30 checkpoint.
run "train 30 steps on the GPU" mpirun -np "$ranks" "$build/bin/distgru-train" --config "$cfg" --glove none \
  --data "$data" --checkpoint-dir "$build/gpu-resume" --backend nccl --steps 30 --checkpoint-every 10 \
  --log-every 10 --val-fraction 0.1
run "resume it to 40 steps" mpirun -np "$ranks" "$build/bin/distgru-train" --config "$cfg" --glove none \
  --data "$data" --checkpoint-dir "$build/gpu-resume" --backend nccl --steps 40 --checkpoint-every 10 \
  --log-every 10 --val-fraction 0.1 --resume auto
last=$(grep samples_per_sec "$build/gpu-resume/metrics.jsonl" 2>/dev/null | tail -1 | grep -o '"step": *[0-9]*' | sed 's/.*: *//')
grep -q "resum.*step 30" "$log" && [[ $last == 40 ]] && record "GPU resume continued from step 30 to 40" PASS \
  || record "GPU resume continued from step 30 to 40 (last step ${last:-none})" FAIL

# --deterministic (runtime/determinism.h): two GPU runs of 40 steps, the
# same per-step losses to the last bit; and the switches logged. Without the
# flag cuDNN's GRU and the cuBLAS reductions may differ in their last bits
# (recorded, not required: it says whether the flag was needed at all).
# "step loss" of each step record, as tests/cli/common.sh's step_losses
# (which cannot be sourced here: it takes the e2e tests' arguments).
step_losses_of() { grep '"samples_per_sec"' "$1/metrics.jsonl" | sed -n 's/.*"loss":\([-0-9.eE+]*\).*"step":\([0-9]*\).*/\2 \1/p'; }
for i in 1 2; do
  rm -rf "$build/gpu-det$i" "$build/gpu-nondet$i"
  run "train 40 steps with --deterministic ($i of 2)" mpirun -np "$ranks" "$build/bin/distgru-train" \
    --config "$cfg" --glove none --data "$data" --checkpoint-dir "$build/gpu-det$i" --backend nccl --steps 40 \
    --checkpoint-every 0 --eval-every 1000 --log-every 10 --deterministic 1
  mpirun -np "$ranks" "$build/bin/distgru-train" --config "$cfg" --glove none --data "$data" \
    --checkpoint-dir "$build/gpu-nondet$i" --backend nccl --steps 40 --checkpoint-every 0 --eval-every 1000 \
    --log-every 10 >>"$log" 2>&1
done
grep -q "deterministic: cuDNN deterministic algorithms" "$log" && record "--deterministic logged its switches" PASS \
  || record "--deterministic logged its switches" FAIL
if [[ $(step_losses_of "$build/gpu-det1" | wc -l) -ge 40 ]] &&
   diff <(step_losses_of "$build/gpu-det1") <(step_losses_of "$build/gpu-det2") >/dev/null; then
  record "--deterministic: two GPU runs, identical per-step losses" PASS
else
  record "--deterministic: two GPU runs, identical per-step losses" FAIL
fi
if diff <(step_losses_of "$build/gpu-nondet1") <(step_losses_of "$build/gpu-nondet2") >/dev/null; then
  echo "without --deterministic the two runs were identical too" | tee -a "$log"
else
  echo "without --deterministic the two runs differed" | tee -a "$log"
fi
table
