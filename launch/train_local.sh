#!/usr/bin/env bash
# Runs distgru-train on this workstation with mpirun.
#
#   launch/train_local.sh [-n RANKS] [-t THREADS_PER_RANK] [--tcp] [--max-restarts N] -- <distgru-train flags>
#
# RANKS defaults to one per core, at most 4; THREADS_PER_RANK to cores / RANKS,
# so ranks x threads never exceeds the cores. Ranks before threads: a rank with
# one thread runs its GRU's small per-step GEMMs without any pool overhead, and
# ranks scale almost linearly (bench/); the cap keeps the default global batch
# of 128 at >= 32 samples per rank, below which the GEMMs get too thin. Each
# rank is bound to its own THREADS cores when they fit, and left unbound
# (oversubscribed) when they do not. --tcp sends all traffic through TCP, as between nodes.
# --max-restarts N: after a failure, start again up to N times from the newest
# checkpoint (torchrun's --max-restarts; adds --resume auto). A rank's fatal
# error is written where this launcher reads it (src/runtime/error_file.h)
# and printed at the end: what each failed rank reported, earliest first.
# Open MPI's root refusal is lifted when run as root (containers, CI).
set -euo pipefail

here=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
root=$(dirname "$here")
bin=${DISTGRU_BIN:-$root/build/bin}
source "$here/supervise.sh"

# GNU nproc obeys OMP_NUM_THREADS, which a user's shell may set: the cores, not that.
cores=$(env -u OMP_NUM_THREADS -u OMP_THREAD_LIMIT nproc)
max_ranks=4
ranks=$(( cores < max_ranks ? cores : max_ranks ))
threads=0
tcp=0
max_restarts=0
while [[ $# -gt 0 ]]; do
  case "$1" in
    -n|--ranks) ranks=$2; shift 2 ;;
    -t|--threads) threads=$2; shift 2 ;;
    --tcp) tcp=1; shift ;;
    --max-restarts) max_restarts=$2; shift 2 ;;
    -h|--help) sed -n '2,/^set /p' "$0" | grep '^#' | sed 's/^# \{0,1\}//'; exit 0 ;;
    --) shift; break ;;
    *) echo "train_local.sh: unknown option $1 (flags for distgru-train go after --)" >&2; exit 2 ;;
  esac
done
[[ "$ranks" =~ ^[1-9][0-9]*$ ]] || { echo "train_local.sh: -n must be a positive integer" >&2; exit 2; }
[[ "$max_restarts" =~ ^[0-9]+$ ]] || { echo "train_local.sh: --max-restarts must be a whole number" >&2; exit 2; }
[[ "$threads" =~ ^[0-9]+$ ]] || { echo "train_local.sh: -t must be a whole number (0: cores / ranks)" >&2; exit 2; }
if [[ "$threads" == 0 ]]; then threads=$(( cores / ranks )); (( threads >= 1 )) || threads=1; fi
[[ -x "$bin/distgru-train" ]] || { echo "train_local.sh: $bin/distgru-train not built (run launch/build.sh)" >&2; exit 1; }

args=(-np "$ranks")
if (( ranks * threads <= cores )); then
  args+=(--map-by "slot:PE=$threads" --bind-to core)
else
  args+=(--oversubscribe --bind-to none)
fi
(( tcp )) && args+=(--mca btl self,tcp)
[[ $(id -u) == 0 ]] && args+=(--allow-run-as-root)
# Every rank sizes its pools from this; BLAS and OpenMP read it before main().
args+=(-x OMP_NUM_THREADS="$threads" -x OPENBLAS_NUM_THREADS="$threads" -x DISTGRU_ERROR_DIR -x DISTGRU_RESTART_COUNT)

train_args=("$@")
run_dir=$(checkpoint_dir_of "$@")
error_dir=${run_dir:+$(realpath -m "$run_dir")/errors}
error_dir=${error_dir:-$(mktemp -d "${TMPDIR:-/tmp}/distgru-errors.XXXXXX")}
prepare() {
  local flags
  mapfile -d '' flags < <(with_resume "$1" "${train_args[@]}")
  RESTART_CMD=(mpirun "${args[@]}" "$bin/distgru-train" --threads "$threads" "${flags[@]}")
  echo "+ ${RESTART_CMD[*]}" >&2
}
set +e
supervise_with_restarts "$max_restarts" "$error_dir" 3 prepare mpirun
exit $?
