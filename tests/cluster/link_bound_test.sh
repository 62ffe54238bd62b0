#!/usr/bin/env bash
# What a limited link imposes, and nothing else: between 2 and 3 real hosts
# (cluster.sh) whose links tc tbf holds to 100 Mbit/s, an allreduce of N
# bytes cannot finish faster than the bytes its hosts must send allow. In
# any allreduce without in-network reduction every host sends at least N
# bytes (each of its elements must reach the others in some form), and the
# busiest host at least 2(n-1)/n x N (Patarasuk and Yuan, "Bandwidth optimal
# all-reduce algorithms for clusters of workstations", JPDC 2009: the ring
# reaches it; Open MPI's 3-rank algorithm sends N from one host and more
# from another); tbf passes at most its burst (256 KiB) above the rate. Checked for a bare MPI_Allreduce,
# for distgru's gradient path, and for it with --bf16-allreduce (half the
# bytes, so half the bound); and the interface counters saw at least those
# bytes. No throughput ratio is asserted: the hosts share this machine's cores.
#   tests/cluster/link_bound_test.sh <bin dir> <imdb archive> <source dir>
source "$(dirname "$0")/../cli/common.sh"
source "$src/tests/cluster/cluster.sh"
set +e

rate_bits=100000000  # 100mbit: tc's units are decimal
burst=262144         # 256kb: tc's kb are KiB
shared=$(mktemp -d /var/tmp/distgru_link_test.XXXXXX)
trap 'cluster_down; rm -rf "$tmp"; [[ -n ${KEEP:-} ]] || rm -rf "$shared"' EXIT
export CLUSTER_SHARE="$src:$bin"
cluster_up 3 "$shared/cluster"
cd "$shared"
for k in 1 2 3; do link_rate "$k" 100mbit; done
limited() { on_host "$1" tc qdisc show dev mn0 | grep -q "tbf .*rate 100Mbit"; }
check "the links are limited: $(on_host 2 tc qdisc show dev mn0 | head -1)" limited 1 && limited 2 && limited 3
iters=4 warmup=3  # distgru-bench's allreduce warm-up
# A 2 MB gradient (a 5000 x 100 embedding and a small GRU); random values.
sizes=(--vocab 5000 --embed 100 --hidden 16 --attention 8 --sentence 32 --batch 8)

# floor BYTES: the seconds an allreduce of BYTES between $n hosts needs at
# least: (2(n-1)/n x BYTES - burst) / rate.
floor() { awk -v b="$1" -v n="$n" -v burst="$burst" -v r="$rate_bits" \
            'BEGIN { s = 2 * (n - 1) / n * b - burst; printf "%.4f", (s > 0 ? s : 0) * 8 / r }'; }

for n in 2 3; do
  for wire in float bf16; do
    flags=(); [[ $wire == bf16 ]] && flags=(--bf16-allreduce)
    before=(); for k in 1 2 3; do before+=("$(link_bytes "$k")"); done
    cluster_mpirun "$n" -x OMP_NUM_THREADS=1 "$bin/distgru-bench" --suite allreduce --threads 1 "${sizes[@]}" \
      --allreduce-iters "$iters" "${flags[@]}" --json "ar_${n}_$wire.json" >"ar_${n}_$wire.log" 2>&1
    check "$n hosts, $wire wire: the allreduce bench ran" test -s "ar_${n}_$wire.json" || { cat "ar_${n}_$wire.log"; continue; }
    sent=(); for k in 1 2 3; do
      read -r _ tx0 <<<"${before[k - 1]}"; read -r _ tx1 <<<"$(link_bytes "$k")"; sent+=($((tx1 - tx0)))
    done
    busiest=$(printf '%s\n' "${sent[@]}" | sort -n | tail -1)
    j="ar_${n}_$wire.json"
    bytes=$(/usr/bin/python3 -c 'import json,sys; a=json.load(open(sys.argv[1]))["allreduce"]; print(int(a["bytes"]), int(a["wire_bytes"]), a["distgru_seconds"]["min"], a["mpi_seconds"]["min"])' "$j")
    read -r fp32_bytes wire_bytes ours_min mpi_min <<<"$bytes"
    check "$n hosts, $wire wire: bare MPI_Allreduce of $fp32_bytes B took >= $(floor "$fp32_bytes") s (fastest $mpi_min s)" \
      gt "$mpi_min" "$(floor "$fp32_bytes")"
    check "$n hosts, $wire wire: distgru's allreduce of $wire_bytes B on the wire took >= $(floor "$wire_bytes") s (fastest $ours_min s)" \
      gt "$ours_min" "$(floor "$wire_bytes")"
    if [[ $wire == bf16 ]]; then
      check "$n hosts: the bf16 wire is half the float gradient" test "$((2 * wire_bytes))" == "$fp32_bytes"
    fi
    # Every timed and warm-up call of both paths, as counted by the interfaces.
    calls=$((iters + warmup))
    each=$(( calls * (wire_bytes + fp32_bytes) ))
    most=$(awk -v n="$n" -v e="$each" 'BEGIN { printf "%d", 2 * (n - 1) / n * e }')
    check "$n hosts, $wire wire: node2 sent ${sent[1]} B >= $calls x (${wire_bytes} + ${fp32_bytes}) B = $each B" \
      test "${sent[1]}" -ge "$each"
    check "$n hosts, $wire wire: the busiest host sent $busiest B >= 2($n-1)/$n of that = $most B" \
      test "$busiest" -ge "$most"
  done
done
finish
