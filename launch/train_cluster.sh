#!/usr/bin/env bash
# Runs distgru-train on several machines with mpirun, for workstations and
# clusters without Slurm (with Slurm, use slurm/*.sbatch).
#
#   launch/train_cluster.sh --hostfile FILE [options] -- <distgru-train flags>
#
#   --hostfile FILE     Open MPI's format, one host per line: "node1 slots=2"
#                       (slots = ranks on that host; 1 when omitted); # comments
#   -t, --threads T     threads per rank (default: this machine's cores / the
#                       first host's slots; hosts are assumed alike)
#   --iface IF          the network interface between the hosts (Open MPI's
#                       btl_tcp_if_include and oob_tcp_if_include, NCCL_SOCKET_IFNAME);
#                       default: Open MPI's choice
#   --launch-agent CMD  how mpirun starts its daemon on another host (default ssh;
#                       tests/cluster/ passes its namespace agent)
#   --max-restarts N    after a failure, start again up to N times from the newest
#                       checkpoint (adds --resume auto), on the hosts that still
#                       answer, less those whose rank went silent (default 0)
#   --grace S           stop mpirun S seconds after a rank reported a failure,
#                       if it has not ended by itself (default 3)
#   --no-bind           leave ranks unbound (hosts sharing cores, as in tests/cluster)
#   --mpi "ARGS"        more mpirun arguments (e.g. "--mca btl self,vader,openib")
#
# Ranks on one host talk through shared memory (vader), hosts through TCP.
# Every host must see the checkout, the data and the checkpoint directory at
# the same paths (a shared filesystem). A failed rank's message lands in
# <checkpoint-dir>/errors/ (src/runtime/error_file.h); the launcher prints
# what each failed rank reported, earliest first, and the hosts that no
# longer answer. Before a restart, a host that still answers but whose rank
# went silent (the heartbeat's "no heartbeat from rank 2 (node3)": stopped,
# hung) is left out of it, and of any later one: given again, it would stall
# the same way. The failed start's error files are kept in errors/attempt-N/.
set -euo pipefail

here=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
root=$(dirname "$here")
bin=${DISTGRU_BIN:-$root/build/bin}
source "$here/supervise.sh"

hostfile="" threads=0 iface="" agent="" max_restarts=0 grace=3 bind=1 extra_mpi=""
while [[ $# -gt 0 ]]; do
  case "$1" in
    --hostfile) hostfile=$2; shift 2 ;;
    -t|--threads) threads=$2; shift 2 ;;
    --iface) iface=$2; shift 2 ;;
    --launch-agent) agent=$2; shift 2 ;;
    --max-restarts) max_restarts=$2; shift 2 ;;
    --grace) grace=$2; shift 2 ;;
    --no-bind) bind=0; shift ;;
    --mpi) extra_mpi=$2; shift 2 ;;
    -h|--help) sed -n '2,/^set /p' "$0" | grep '^#' | sed 's/^# \{0,1\}//'; exit 0 ;;
    --) shift; break ;;
    *) echo "train_cluster.sh: unknown option $1 (flags for distgru-train go after --)" >&2; exit 2 ;;
  esac
done
train_args=("$@")
[[ -n $hostfile ]] || { echo "train_cluster.sh: --hostfile is required (one host per line: 'node1 slots=2')" >&2; exit 2; }
[[ -r $hostfile ]] || { echo "train_cluster.sh: cannot read the hostfile $hostfile" >&2; exit 2; }
for n in "$threads" "$max_restarts" "$grace"; do
  [[ $n =~ ^[0-9]+$ ]] || { echo "train_cluster.sh: '$n' is not a whole number" >&2; exit 2; }
done
[[ -x "$bin/distgru-train" ]] || { echo "train_cluster.sh: $bin/distgru-train not built (run launch/build.sh)" >&2; exit 1; }

# The hosts and their slots, checked line by line.
hosts=() slots=()
lineno=0
while IFS= read -r line || [[ -n $line ]]; do
  lineno=$((lineno + 1))
  line=${line%%#*}
  read -r -a words <<<"$line"
  (( ${#words[@]} == 0 )) && continue
  s=1
  for w in "${words[@]:1}"; do
    if [[ $w =~ ^slots=([1-9][0-9]*)$ ]]; then s=${BASH_REMATCH[1]}
    else echo "train_cluster.sh: $hostfile:$lineno: '$w' is not slots=N" >&2; exit 2; fi
  done
  hosts+=("${words[0]}"); slots+=("$s")
done <"$hostfile"
(( ${#hosts[@]} > 0 )) || { echo "train_cluster.sh: $hostfile lists no hosts" >&2; exit 2; }
if (( threads == 0 )); then threads=$(( $(env -u OMP_NUM_THREADS -u OMP_THREAD_LIMIT nproc) / slots[0] )); (( threads >= 1 )) || threads=1; fi

# The checkpoint directory (shared) holds the error files.
run_dir=$(checkpoint_dir_of "${train_args[@]}")
[[ -n $run_dir ]] || { echo "train_cluster.sh: give distgru-train's --checkpoint-dir (on the shared filesystem)" >&2; exit 2; }
error_dir=$(realpath -m "$run_dir")/errors

# Does HOST answer? Through the launch agent, as mpirun will reach it.
answers() {
  if [[ -n $agent ]]; then timeout 10 $agent "$1" true >/dev/null 2>&1
  else timeout 15 ssh -o BatchMode=yes -o ConnectTimeout=5 "$1" true >/dev/null 2>&1; fi
}

# The name HOST gives itself (uname -n: what MPI's processor name, and so the
# heartbeat, calls it), through the launch agent; "" when it does not answer.
name_of() {
  if [[ -n $agent ]]; then timeout 10 $agent "$1" uname -n 2>/dev/null | tail -n 1
  else timeout 15 ssh -o BatchMode=yes -o ConnectTimeout=5 "$1" uname -n 2>/dev/null | tail -n 1; fi
}

# silent_match HOST SILENT: the name in SILENT (short host names, one a line)
# that HOST, a hostfile entry (a name or an address), goes by: its own short
# name, or else the one it gives itself. Nothing, and status 1, when none.
silent_match() {
  local host=$1 silent=$2 name
  name=$(short "$host")
  if ! grep -qxF -e "$name" <<<"$silent"; then
    name=$(name_of "$host"); name=$(short "${name:-?}")
    grep -qxF -e "$name" <<<"$silent" || return 1
  fi
  echo "$name"
}

# Before each start: the hosts that answer (all of them the first time),
# less those left out for going silent, and the mpirun command line for them.
# After a failed start, the hosts any rank's error file named silent (the
# heartbeat: stopped or hung, though ssh may still answer) are left out from
# then on (SILENT_LEFT_OUT), never all of them; that start's error files are
# kept in errors/attempt-N/ (supervise removes them before the next start).
SILENT_LEFT_OUT=()
prepare() {
  local attempt=$1 live=() total=0 i silent="" matched="" gone=() name
  if (( attempt > 0 )); then
    mkdir -p "$error_dir/attempt-$attempt"
    rm -f "$error_dir/attempt-$attempt"/rank-*.json  # an earlier launch's, in this checkpoint directory
    cp -p "$error_dir"/rank-*.json "$error_dir/attempt-$attempt/" 2>/dev/null || true
    silent=$(silent_hosts "$error_dir")
  fi
  for i in "${!hosts[@]}"; do
    if [[ " ${SILENT_LEFT_OUT[*]} " == *" ${hosts[i]} "* ]]; then
      echo "train_cluster.sh: ${hosts[i]} stays left out (its rank went silent in an earlier attempt)" >&2
      matched+="$(short "${hosts[i]}")"$'\n'
    elif answers "${hosts[i]}"; then
      if [[ -n $silent ]] && name=$(silent_match "${hosts[i]}" "$silent"); then
        gone+=("$i:$name"); matched+="$name"$'\n'
      else
        live+=("${hosts[i]}:${slots[i]}"); total=$((total + slots[i]))
      fi
    elif (( attempt == 0 )); then
      echo "train_cluster.sh: host ${hosts[i]} does not answer (${agent:-ssh} ${hosts[i]} true)" >&2; return 1
    else
      echo "train_cluster.sh: host ${hosts[i]} does not answer: restarting without it" >&2
      matched+="$(short "${hosts[i]}")"$'\n'
    fi
  done
  if (( ${#gone[@]} > 0 && total == 0 )); then
    echo "train_cluster.sh: every host that answers went silent in attempt $attempt ($(for g in "${gone[@]}"; do echo -n "${hosts[${g%%:*}]} "; done | sed 's/ $//')): leaving them all out would leave no host; stopping (their messages are in $error_dir/attempt-$attempt)" >&2
    return 1
  fi
  local g entry
  for g in "${gone[@]}"; do
    i=${g%%:*} name=${g#*:}
    entry=${hosts[i]}; [[ $(short "$entry") == "$name" ]] || entry="$entry ($name)"
    echo "train_cluster.sh: leaving out $entry: $( (( slots[i] > 1 )) && echo "a rank on it" || echo "its rank") went silent (no heartbeat) in attempt $attempt, though the host still answers; restarting without it" >&2
    SILENT_LEFT_OUT+=("${hosts[i]}")
  done
  # A name no host matched: a host known by another name than the one it
  # gives itself would be given the next start again; say so.
  for name in $silent; do
    grep -qxF -e "$name" <<<"$matched" || \
      echo "train_cluster.sh: the heartbeat named $name silent in attempt $attempt, but no host that answers goes by that name: none left out for it" >&2
  done
  (( total > 0 )) || { echo "train_cluster.sh: no host answers" >&2; return 1; }
  LIVE=("${live[@]}")
  local host_list
  host_list=$(IFS=,; echo "${live[*]}")
  local args=(-np "$total" --host "$host_list")
  if (( bind )); then args+=(--map-by "slot:PE=$threads" --bind-to core); else args+=(--map-by slot --bind-to none); fi
  if [[ -n $iface ]]; then
    args+=(--mca btl_tcp_if_include "$iface" --mca oob_tcp_if_include "$iface" -x NCCL_SOCKET_IFNAME="$iface")
  fi
  [[ -n $agent ]] && args+=(--mca plm_rsh_agent "$agent")
  [[ $(id -u) == 0 ]] && args+=(--allow-run-as-root)
  args+=(-x OMP_NUM_THREADS="$threads" -x OPENBLAS_NUM_THREADS="$threads" -x DISTGRU_ERROR_DIR -x DISTGRU_RESTART_COUNT)
  # shellcheck disable=SC2206
  [[ -n $extra_mpi ]] && args+=($extra_mpi)
  local flags
  mapfile -d '' flags < <(with_resume "$attempt" "${train_args[@]}")
  RESTART_CMD=(mpirun "${args[@]}" "$bin/distgru-train" --threads "$threads" "${flags[@]}")
  echo "+ ${RESTART_CMD[*]}" >&2
}

# After a failure: which of the hosts of the last start no longer answer, and
# the ranks they held (ranks are laid out host by host, --map-by slot).
name_lost_hosts() {
  local first=0 entry host n
  for entry in "${LIVE[@]}"; do
    host=${entry%:*} n=${entry##*:}
    if ! answers "$host"; then
      local ranks="rank $first"
      (( n > 1 )) && ranks="ranks $first-$((first + n - 1))"
      echo "train_cluster.sh: after the failure, host $host ($ranks) does not answer: lost, or cut off" >&2
    fi
    first=$((first + n))
  done
}

LIVE=()
set +e
supervise_with_restarts "$max_restarts" "$error_dir" "$grace" prepare mpirun
rc=$?
(( rc != 0 && rc != 2 && rc != 75 && SUPERVISE_INTERRUPTED == 0 )) && name_lost_hosts
exit "$rc"
