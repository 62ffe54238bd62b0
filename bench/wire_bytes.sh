#!/usr/bin/env bash
# Bytes on the wire per training step between two real hosts (the namespace
# cluster of tests/cluster/cluster.sh), dense allreduce of the embedding's
# gradient against --sparse-embedding 1. Each mode trains STEPS_A and then
# STEPS_B steps of the full model from scratch; the difference of node2's
# interface counters over the extra steps, divided by their number, is the
# per-step traffic (start-up, broadcast and test scoring cancel out). Root only.
#   bench/wire_bytes.sh [DATA] [CONFIG]    (DATA: distgru-prepare's output, not under /tmp)
set -euo pipefail
here=$(cd "$(dirname "$0")/.." && pwd)
data=$(realpath "${1:-$here/work/imdb}")
config=$(realpath "${2:-$here/configs/imdb_bigru_attention.ini}")
steps_a=${STEPS_A:-10} steps_b=${STEPS_B:-30}
source "$here/tests/cluster/cluster.sh"
dir=$(mktemp -d /var/tmp/distgru_wire.XXXXXX)
trap 'cluster_down; rm -rf "$dir"' EXIT
export CLUSTER_SHARE="$here:$data"
cluster_up 2 "$dir/cluster"
printf 'node1\nnode2\n' >"$dir/hosts"
cd "$dir"
# run SPARSE STEPS: prints node2's "received sent" bytes for the run.
run() {
  rm -rf "$dir/run"
  local before after
  before=$(link_bytes 2)
  on_host 1 "$here/launch/train_cluster.sh" --hostfile "$dir/hosts" --iface mn0 --launch-agent "$CLUSTER_DIR/agent" \
    --no-bind -t 1 -- --config "$config" --data "$data" --checkpoint-dir "$dir/run" --steps "$2" \
    --log-every "$2" --checkpoint-every 100000 --eval-every 100000 --tensorboard 0 --sparse-embedding "$1" --glove none \
    >"$dir/log" 2>&1 || { tail -20 "$dir/log"; exit 1; }
  after=$(link_bytes 2)
  read -r rx0 tx0 <<<"$before"; read -r rx1 tx1 <<<"$after"
  echo "$((rx1 - rx0)) $((tx1 - tx0)) $(grep -o "step $2/$2 loss [0-9.]*" "$dir/log" | awk '{ print $NF }')"
}
echo "bytes per step on node2's link, 2 hosts x 1 rank, $(basename "$config"), steps $steps_a..$steps_b ($(grep -m1 'model name' /proc/cpuinfo | cut -d: -f2 | xargs))"
for sparse in 0 1; do
  read -r rxa txa _ <<<"$(run "$sparse" "$steps_a")"
  read -r rxb txb loss <<<"$(run "$sparse" "$steps_b")"
  n=$((steps_b - steps_a))
  printf '%-22s received %8.3f MB  sent %8.3f MB  (loss at step %d: %s)\n' \
    "--sparse-embedding $sparse" "$(awk -v b=$((rxb - rxa)) -v n=$n 'BEGIN { print b / n / 1e6 }')" \
    "$(awk -v b=$((txb - txa)) -v n=$n 'BEGIN { print b / n / 1e6 }')" "$steps_b" "$loss"
done
