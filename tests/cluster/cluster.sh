#!/usr/bin/env bash
# A cluster of real, separate hosts inside this machine, for tests and for
# trying distgru across hosts. Each host is
#   - a network namespace with one interface, mn0 (10.77.0.K/24), the end of a
#     veth pair whose other end sits on a bridge in a namespace of its own
#     (nothing is added to the root namespace, so two clusters never meet);
#   - a UTS namespace (hostname nodeK) and a mount namespace (its own /tmp and
#     /etc/hosts), held open by one "keeper" process per host.
# Everything outside /tmp (the checkout, the data, the run directory) is the
# shared filesystem the hosts see alike, as NFS or Lustre would be; paths
# under /tmp that must be shared too (a checkout cloned there) are listed in
# CLUSTER_SHARE, colon-separated.
#
# Commands enter a host with nsenter into the keeper's namespaces; `ip netns
# exec` is not used because it remounts /sys and hides /sys/fs/cgroup, which
# slurmd needs. mpirun reaches the other hosts through rsh_agent.sh (in place
# of ssh), which starts Open MPI's daemon inside the named host with the
# clean environment of a fresh login.
#
# Used two ways:
#   source tests/cluster/cluster.sh; cluster_up 3; on_host 1 hostname; cluster_down
#   tests/cluster/cluster.sh up 3 DIR | run DIR K CMD... | down DIR   (by hand)
# cluster_up exits 77 (ctest's "skipped") where namespaces cannot be made.

cluster_here=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)

# The shell commands that give host K its own /tmp while keeping the paths
# of CLUSTER_SHARE (colon-separated) that lie under /tmp: each is bound to a
# directory under CLUSTER_DIR, a tmpfs goes over /tmp, and each is bound back.
share_commands() {
  local k=$1 path i=0 aside="" back=""
  local -a paths
  IFS=: read -r -a paths <<<"${CLUSTER_SHARE:-}"
  for path in "${paths[@]}"; do
    [[ -n $path ]] || continue
    path=$(realpath -m "$path")
    [[ $path == /tmp/* ]] || continue
    i=$((i + 1))
    mkdir -p "$CLUSTER_DIR/aside/node$k/$i"
    aside+="mount --bind '$path' '$CLUSTER_DIR/aside/node$k/$i' && "
    back+="mkdir -p '$path' && mount --bind '$CLUSTER_DIR/aside/node$k/$i' '$path' && "
  done
  echo "$aside mount -t tmpfs tmpfs /tmp && $back"
}

# cluster_up N [DIR]: N hosts, node1..nodeN. Sets CLUSTER_DIR (state: keeper
# PIDs, hosts file, agent) and CLUSTER_N. Names carry this shell's PID and a
# random tag, so concurrent runs never collide.
cluster_up() {
  local n=$1 k
  CLUSTER_N=$n
  CLUSTER_DIR=${2:-$(mktemp -d /var/tmp/distgru_cluster.XXXXXX)}
  mkdir -p "$CLUSTER_DIR"
  [[ $(id -u) == 0 ]] || { echo "SKIP: network namespaces need root"; exit 77; }
  for tool in ip nsenter unshare; do
    command -v "$tool" >/dev/null || { echo "SKIP: $tool not installed"; exit 77; }
  done
  CLUSTER_TAG=dg$$$(printf '%04x' $((RANDOM % 65536)))
  echo "$CLUSTER_TAG" >"$CLUSTER_DIR/tag"
  if ! ip netns add "${CLUSTER_TAG}br" 2>"$CLUSTER_DIR/netns.err"; then
    echo "SKIP: cannot create a network namespace: $(cat "$CLUSTER_DIR/netns.err")"; exit 77
  fi
  echo "${CLUSTER_TAG}br" >>"$CLUSTER_DIR/netns"
  ip -n "${CLUSTER_TAG}br" link add br0 type bridge
  ip -n "${CLUSTER_TAG}br" link set br0 up
  ip -n "${CLUSTER_TAG}br" link set lo up
  : >"$CLUSTER_DIR/hosts"
  printf '127.0.0.1 localhost\n' >>"$CLUSTER_DIR/hosts"
  for k in $(seq "$n"); do printf '10.77.0.%d node%d\n' "$k" "$k" >>"$CLUSTER_DIR/hosts"; done
  for k in $(seq "$n"); do
    local ns=${CLUSTER_TAG}n$k
    ip netns add "$ns"
    echo "$ns" >>"$CLUSTER_DIR/netns"
    ip -n "${CLUSTER_TAG}br" link add "v$k" type veth peer name mn0 netns "$ns"
    ip -n "${CLUSTER_TAG}br" link set "v$k" master br0 up
    ip -n "$ns" addr add "10.77.0.$k/24" dev mn0
    ip -n "$ns" link set mn0 up
    ip -n "$ns" link set lo up
    # A lost peer is noticed in seconds, not the default ~15 minutes of TCP
    # retransmissions (only inside this namespace).
    ip netns exec "$ns" sysctl -q -w net.ipv4.tcp_retries2=5 >/dev/null 2>&1 || true
    # The keeper: nsenter and unshare exec without forking, so $! is the
    # process that holds the host's namespaces open. Its own /tmp hides the
    # machine's, so shared paths under /tmp (CLUSTER_SHARE: a checkout cloned
    # there, say) are bound aside first and back into the new /tmp after.
    nsenter --net="/run/netns/$ns" -- unshare --mount --uts --propagation private -- \
      /bin/sh -c "hostname node$k && $(share_commands "$k") mount --bind '$CLUSTER_DIR/hosts' /etc/hosts \
                  && touch '$CLUSTER_DIR/node$k.ready' && exec sleep infinity" \
      </dev/null >"$CLUSTER_DIR/node$k.keeper.log" 2>&1 &
    echo $! >"$CLUSTER_DIR/node$k.pid"
    disown $!  # cluster_down kills it: no "Killed" notice from this shell
  done
  for k in $(seq "$n"); do
    local waited=0
    until [[ -f "$CLUSTER_DIR/node$k.ready" ]]; do
      sleep 0.1; waited=$((waited + 1))
      if (( waited > 100 )); then
        echo "SKIP: host node$k did not start: $(cat "$CLUSTER_DIR/node$k.keeper.log")"; cluster_down; exit 77
      fi
    done
  done
  # What mpirun calls instead of ssh: `agent <host> <command line>`.
  cat >"$CLUSTER_DIR/agent" <<AGENT
#!/bin/sh
exec "$cluster_here/rsh_agent.sh" "$CLUSTER_DIR" "\$@"
AGENT
  chmod +x "$CLUSTER_DIR/agent"
}

# cluster_pid K: the keeper of host K.
cluster_pid() { cat "$CLUSTER_DIR/node$1.pid"; }

# on_host K CMD...: runs CMD on host K, in the current directory (which must be
# on the shared filesystem), with this shell's environment.
on_host() {
  local k=$1; shift
  nsenter -t "$(cluster_pid "$k")" --net --mount --uts --wd="$PWD" -- "$@"
}

# host_pids K: every process running on host K except its keeper.
host_pids() {
  local keeper; keeper=$(cluster_pid "$1")
  ip netns pids "$(sed -n "$(( $1 + 1 ))p" "$CLUSTER_DIR/netns")" 2>/dev/null | grep -vx "$keeper" || true
}

# link_bytes K: "rx tx" bytes counted on host K's interface.
link_bytes() {
  local ns; ns=$(sed -n "$(( $1 + 1 ))p" "$CLUSTER_DIR/netns")
  echo "$(ip netns exec "$ns" cat /sys/class/net/mn0/statistics/rx_bytes) $(ip netns exec "$ns" cat /sys/class/net/mn0/statistics/tx_bytes)"
}

# link_down K / link_up K: cuts or restores host K's only link (a partition).
link_down() { ip -n "$(sed -n "$(( $1 + 1 ))p" "$CLUSTER_DIR/netns")" link set mn0 down; }
link_up() { ip -n "$(sed -n "$(( $1 + 1 ))p" "$CLUSTER_DIR/netns")" link set mn0 up; }

# link_rate K RATE: limits what host K sends (tc tbf; e.g. 1gbit, 100mbit).
link_rate() {
  ip netns exec "$(sed -n "$(( $1 + 1 ))p" "$CLUSTER_DIR/netns")" \
    tc qdisc replace dev mn0 root tbf rate "$2" burst 256kb latency 50ms
}

# link_unlimited K: removes host K's rate limit.
link_unlimited() {
  ip netns exec "$(sed -n "$(( $1 + 1 ))p" "$CLUSTER_DIR/netns")" tc qdisc del dev mn0 root 2>/dev/null || true
}

# cluster_mpirun N ARGS...: mpirun on host 1 with one rank on each of hosts
# 1..N, over mn0 only (no shared memory between hosts), unbound (the hosts
# share this machine's cores).
cluster_mpirun() {
  local n=$1; shift
  local hosts; hosts=$(seq -s, -f 'node%g' 1 "$n")
  on_host 1 mpirun -np "$n" --host "$hosts" --map-by node --bind-to none --allow-run-as-root \
    --mca plm_rsh_agent "$CLUSTER_DIR/agent" --mca btl self,tcp \
    --mca btl_tcp_if_include mn0 --mca oob_tcp_if_include mn0 "$@"
}

# cluster_down: kills every process on every host (by PID), then deletes the
# namespaces this cluster made (by name). Safe to call twice.
cluster_down() {
  [[ -n ${CLUSTER_DIR:-} && -f "$CLUSTER_DIR/netns" ]] || return 0
  local ns pid
  for signal in TERM KILL; do
    while read -r ns; do
      for pid in $(ip netns pids "$ns" 2>/dev/null); do kill -"$signal" "$pid" 2>/dev/null || true; done
    done <"$CLUSTER_DIR/netns"
    [[ $signal == TERM ]] && sleep 0.5
  done
  while read -r ns; do ip netns del "$ns" 2>/dev/null || true; done <"$CLUSTER_DIR/netns"
  rm -f "$CLUSTER_DIR/netns"
}

if [[ ${BASH_SOURCE[0]} == "$0" ]]; then
  set -euo pipefail
  case "${1:-}" in
    up) cluster_up "$2" "${3:?cluster.sh up N DIR}"; echo "cluster of $2 hosts: $CLUSTER_DIR (tag $CLUSTER_TAG)" ;;
    run) CLUSTER_DIR=$2; k=$3; shift 3; on_host "$k" "$@" ;;
    down) CLUSTER_DIR=$2; cluster_down ;;
    *) sed -n '2,21p' "$0" | sed 's/^# \{0,1\}//'; exit 2 ;;
  esac
fi
