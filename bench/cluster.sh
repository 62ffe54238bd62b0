#!/usr/bin/env bash
# The cluster bench: the full model's training step and the gradient
# allreduce across 2 and 3 real hosts (the namespace cluster of
# tests/cluster/cluster.sh, one rank per host), with each host's link limited
# by tc tbf, for every way distgru can sync the gradients: the dense float
# allreduce, --sparse-embedding, --bf16-allreduce and both, overlapped with
# backward and not. Prints one table (samples/s, the sync's share of a step,
# MB per step on the busiest host's link, allreduce bus bandwidth against a
# bare MPI_Allreduce of the same bytes on the same link). Root only; not a test.
#
#   bench/cluster.sh [--data DIR] [--hosts "2 3"] [--rates "none 1gbit 100mbit"]
#                    [--steps N] [--warmup N] [--out DIR] [--build DIR]
#
# DIR: distgru-prepare's output of the full IMDB (not under /tmp; default
# work/imdb). Each host runs 1 rank x 1 thread; all hosts share this
# machine's cores, so samples/s falls with the host count for that reason
# alone: compare modes within a (hosts, rate) group, not across groups.
# The sync share is rank 0's time in the gradient sync that backward did not
# hide, including waits for a slower rank.
set -euo pipefail
here=$(cd "$(dirname "$0")/.." && pwd)
data=$here/work/imdb
hosts_list="2 3"
rates="none 1gbit 100mbit"
steps=8
warmup=2
out=""
build=${DISTGRU_BUILD:-$here/build}
while [[ $# -gt 0 ]]; do
  case "$1" in
    --data) data=$2; shift 2 ;;
    --hosts) hosts_list=$2; shift 2 ;;
    --rates) rates=$2; shift 2 ;;
    --steps) steps=$2; shift 2 ;;
    --warmup) warmup=$2; shift 2 ;;
    --out) out=$2; shift 2 ;;
    --build) build=$2; shift 2 ;;
    -h|--help) sed -n '2,19p' "$0" | sed 's/^# \{0,1\}//'; exit 0 ;;
    *) echo "bench/cluster.sh: unknown option $1" >&2; exit 2 ;;
  esac
done
data=$(realpath "$data")
[[ -f $data/manifest.json ]] || { echo "bench/cluster.sh: $data is not a prepared directory (distgru-prepare)" >&2; exit 2; }
bench=$build/bin/distgru-bench
[[ -x $bench ]] || { echo "bench/cluster.sh: $bench not built" >&2; exit 1; }
out=$(realpath -m "${out:-$build/bench-cluster}")
mkdir -p "$out"
rm -f "$out"/*.json "$out"/*.log

source "$here/tests/cluster/cluster.sh"
export CLUSTER_SHARE="$here:$data:$build:$out"
max_hosts=0
for n in $hosts_list; do (( n > max_hosts )) && max_hosts=$n; done
dir=$(mktemp -d /var/tmp/distgru_bench_cluster.XXXXXX)
trap 'cluster_down; rm -rf "$dir"' EXIT
cluster_up "$max_hosts" "$dir/cluster"
cd "$dir"

# The modes: name|distgru-bench's flags|mpirun's flags. The allreduce suite
# (which ignores --sparse-embedding and overlap) runs with dense, bf16 and
# dense_ring. "ring": Open MPI's ring allreduce (coll tuned algorithm 4)
# instead of the algorithm its decision table picks for the size and ranks.
ring="--mca coll_tuned_use_dynamic_rules 1 --mca coll_tuned_allreduce_algorithm 4"
modes=("dense||" "bf16|--bf16-allreduce|" "sparse|--sparse-embedding|"
       "sparse_bf16|--sparse-embedding --bf16-allreduce|"
       "dense_no_overlap|--no-overlap|" "sparse_bf16_no_overlap|--sparse-embedding --bf16-allreduce --no-overlap|"
       "dense_ring||$ring" "sparse_bf16_ring|--sparse-embedding --bf16-allreduce|$ring")
for n in $hosts_list; do
  for rate in $rates; do
    for k in $(seq "$max_hosts"); do
      if [[ $rate == none ]]; then link_unlimited "$k"; else link_rate "$k" "$rate"; fi
    done
    for mode in "${modes[@]}"; do
      IFS='|' read -r name bench_flags mpi_flags <<<"$mode"
      read -r -a flags <<<"$bench_flags"
      read -r -a mpi <<<"$mpi_flags"
      suites=train
      [[ $name == dense || $name == bf16 || $name == dense_ring ]] && suites=train,allreduce
      tag=${n}h_${rate}_${name}
      echo "== $n hosts, link $rate, $name: ${flags[*]:-(defaults)} ${mpi[*]:-}" >&2
      # The hosts share this machine's cores: a rank waiting in a collective
      # yields its core to the ranks still computing, as on hosts of their own
      # it would take nobody's (Open MPI busy-polls by default).
      cluster_mpirun "$n" "${mpi[@]}" --mca mpi_yield_when_idle 1 -x OMP_NUM_THREADS=1 -x OPENBLAS_NUM_THREADS=1 \
        "$bench" --suite "$suites" --threads 1 --data "$data" --steps "$steps" --warmup "$warmup" \
        --eval-samples 64 --allreduce-iters 8 "${flags[@]}" --json "$out/$tag.json" >"$out/$tag.log" 2>&1 ||
        { tail -30 "$out/$tag.log" >&2; exit 1; }
    done
  done
done
/usr/bin/python3 "$here/bench/cluster_report.py" "$out"
