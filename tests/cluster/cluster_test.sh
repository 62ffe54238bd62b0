#!/usr/bin/env bash
# distgru across real, separate hosts: three network namespaces with their own
# hostnames, /tmp and /etc/hosts, joined by a bridge (cluster.sh), the
# checkout and run directory shared as a cluster filesystem would be.
#   - training over 3 hosts x 1 rank and 2 hosts x 2 ranks (launch/train_cluster.sh)
#     gives bitwise the per-step losses, validation and test results of the
#     same world size on one host; the gradients crossed the links
#     (interface counters); the log states the layout per host; rank 0 alone
#     wrote the checkpoints, to the shared directory;
#   - a partition of one host, a stalled rank (SIGSTOP) and a lost host
#     (every process on it killed, its link cut) each end the job non-zero
#     within --collective-timeout + 5 s, with distgru's message naming the
#     rank and host, and leave only whole checkpoints;
#   - --max-restarts: after a host hangs (its ranks stopped, ssh answering),
#     the launcher leaves the host the heartbeat named out of the restart;
#     after the lost host, the job starts again on the two hosts that answer;
#     each resumes from the newest checkpoint on the new world size and
#     finishes with test accuracy and AUC.
#   tests/cluster/cluster_test.sh <bin dir> <imdb archive> <source dir>
source "$(dirname "$0")/../cli/common.sh"
source "$src/tests/cluster/cluster.sh"
source "$src/launch/supervise.sh"  # silent_hosts
set +e  # every outcome is judged by check, and the fault cases expect failures

timeout_s=10  # --collective-timeout in the fault cases
shared=$(mktemp -d /var/tmp/distgru_cluster_test.XXXXXX)  # not /tmp: each host has its own
trap 'cluster_down; rm -rf "$tmp"; [[ -n ${KEEP:-} ]] || rm -rf "$shared"' EXIT  # KEEP=1: keep the logs
export CLUSTER_SHARE="$src:$bin"  # a checkout under /tmp stays visible on every host
cluster_up 3 "$shared/cluster"
ok "3 hosts up: $(for k in 1 2 3; do on_host $k hostname; done | tr '\n' ' ')(cluster $CLUSTER_TAG)"

prepare_small "$shared/data" 1000 301
cd "$shared"
common=(--config "$src/configs/tiny.ini" --data "$shared/data" --log-every 1 --checkpoint-every 10 --eval-every 15)
export OMPI_ALLOW_RUN_AS_ROOT=1 OMPI_ALLOW_RUN_AS_ROOT_CONFIRM=1


# On one host (node1), N ranks: the reference.
one_host() {  # one_host N DIR
  on_host 1 mpirun -np "$1" --oversubscribe --bind-to none --allow-run-as-root -x OMP_NUM_THREADS=1 \
    "$bin/distgru-train" "${common[@]}" --threads 1 --steps 30 --checkpoint-dir "$2" >"$2.log" 2>&1
}
# Across hosts with the project's launcher, as a user would: HOSTFILE DIR
# [distgru-train flags]; launcher options in the array LAUNCH.
LAUNCH=()
across() {
  local hostfile=$1 dir=$2; shift 2
  on_host 1 "$src/launch/train_cluster.sh" --hostfile "$hostfile" --iface mn0 --launch-agent "$CLUSTER_DIR/agent" \
    --no-bind -t 1 --grace 2 "${LAUNCH[@]}" -- "${common[@]}" --checkpoint-dir "$dir" "$@"
}

printf 'node1\nnode2\nnode3\n' >hosts3
printf 'node1 slots=2\nnode2 slots=2  # two ranks each\n' >hosts2x2

echo "== 3 hosts x 1 rank against 3 ranks on one host"
one_host 3 "$shared/ref3"
before2=$(link_bytes 2); before3=$(link_bytes 3)
across hosts3 "$shared/run3" --steps 30 >run3.log 2>&1
check "3 hosts: the job finished" grep -q "trained 30 steps" run3.log
after2=$(link_bytes 2); after3=$(link_bytes 3)
check "3 hosts: 30 per-step losses logged" test "$(step_losses run3/metrics.jsonl | wc -l)" == 30
check "3 hosts: per-step losses bitwise those of one host" diff <(step_losses ref3/metrics.jsonl) <(step_losses run3/metrics.jsonl)
check "3 hosts: test results those of one host: $(test_line run3.log)" test "$(test_line ref3.log)" == "$(test_line run3.log)"
check "3 hosts: validation records those of one host" \
  diff <(grep '"accuracy"' ref3/metrics.jsonl | sed 's/"time":[^,]*,//; s/"run":"[^"]*",//; s/"samples_per_s":[^,]*,//') \
       <(grep '"accuracy"' run3/metrics.jsonl | sed 's/"time":[^,]*,//; s/"run":"[^"]*",//; s/"samples_per_s":[^,]*,//')
read -r rx2a tx2a <<<"$before2"; read -r rx2b tx2b <<<"$after2"
read -r rx3a tx3a <<<"$before3"; read -r rx3b tx3b <<<"$after3"
mb() { awk -v b="$1" 'BEGIN { printf "%.1f", b / 1e6 }'; }
# In any allreduce algorithm every rank sends its whole gradient's worth at
# least once (a leaf of a tree sends it all, a ring 2(N-1)/N of it) and
# receives as much: 30 steps x the fp32 gradient, whatever Open MPI chose.
params=$(sed -n 's/.*model: \([0-9]*\) parameters.*/\1/p' run3.log | head -1)
floor=$(( 30 * ${params:-0} * 4 ))
check "3 hosts: the gradients crossed node2's link ($(mb $((rx2b - rx2a))) MB in, $(mb $((tx2b - tx2a))) MB out; >= 30 x $params x 4 B = $(mb "$floor") MB each way)" \
  test "$floor" -gt 0 -a $(( rx2b - rx2a )) -ge "$floor" -a $(( tx2b - tx2a )) -ge "$floor"
check "3 hosts: and node3's ($(mb $((rx3b - rx3a))) MB in, $(mb $((tx3b - tx3a))) MB out)" \
  test "$floor" -gt 0 -a $(( rx3b - rx3a )) -ge "$floor" -a $(( tx3b - tx3a )) -ge "$floor"
check "3 hosts: the log states the layout" grep -q "3 ranks (1 on this host), backend mpi, 1 thread per rank" run3.log
check "3 hosts: and the ranks per host" grep -q "ranks per host: node1 x 1 (1 thread), node2 x 1 (1 thread), node3 x 1 (1 thread)" run3.log
check "3 hosts: rank 0 on node1 held the run" grep -q "host node1, pid" run3.log
check "3 hosts: checkpoints 10, 20, 30 in the shared directory, each written once" \
  test "$(ls run3/ | grep -c '^ckpt-.*\.pt$')" == 3 -a "$(grep -c 'checkpoint ckpt-' run3.log)" == 3
check "3 hosts: nothing written to a host's own /tmp" \
  test -z "$(for k in 2 3; do on_host $k find /tmp -xdev \( -name '*.pt' -o -name 'metrics.jsonl' \); done)"

echo "== 2 hosts x 2 ranks against 4 ranks on one host"
one_host 4 "$shared/ref4"
across hosts2x2 "$shared/run4" --steps 30 >run4.log 2>&1
check "2x2: per-step losses bitwise those of one host" diff <(step_losses ref4/metrics.jsonl) <(step_losses run4/metrics.jsonl)
check "2x2: test results those of one host" test "$(test_line ref4.log)" == "$(test_line run4.log)"
check "2x2: the log states the layout" grep -q "4 ranks (2 on this host)" run4.log
check "2x2: and the ranks per host" grep -q "ranks per host: node1 x 2 (1 thread), node2 x 2 (1 thread)" run4.log

# deadline S PID: kills PID (-9) if it still runs S seconds from now; the
# killer's PID is left in DEADLINE, for `end_deadline` once PID has ended.
# Its sleep goes with it: an orphaned sleep would hold this test's output
# open, and ctest waits for that (88 s of a 189 s run, before).
deadline() {
  ( trap 'kill $s 2>/dev/null; exit 0' TERM; sleep "$1" & s=$!; wait $s; kill -9 "$2" 2>/dev/null ) &
  DEADLINE=$!
}
end_deadline() { kill "$DEADLINE" 2>/dev/null; wait "$DEADLINE" 2>/dev/null; }

# fault NAME HOSTFILE ACTION EXPECT SILENT: starts a long run, does ACTION (a
# function) once step 20 is logged, and checks the job ends non-zero within
# the collective timeout + 5 s with EXPECT (a rank and host) in distgru's
# messages, leaving only whole checkpoints, and that the hosts a restart
# would leave out (silent_hosts, launch/supervise.sh) are SILENT.
fault() {
  local name=$1 hostfile=$2 action=$3 expect=$4 silent=$5
  local dir=$shared/fault-$name
  across "$hostfile" "$dir" --steps 100000 --collective-timeout "$timeout_s" --stall-warning 3 >"$dir.log" 2>&1 &
  local job=$!
  for _ in $(seq 300); do grep -q "step 20/" "$dir.log" 2>/dev/null && break; sleep 0.1; done
  local t0; t0=$(date +%s.%N)
  "$action"
  local t_action; t_action=$(date +%s.%N)
  deadline 60 "$job"
  wait "$job"; local rc=$?
  local t1; t1=$(date +%s.%N)
  end_deadline
  local took; took=$(awk -v a="$t0" -v b="$t1" 'BEGIN { printf "%.1f", b - a }')
  local first_error
  first_error=$(cat "$dir"/errors/rank-*.json 2>/dev/null | sed -n 's/.*"unix_time":\([0-9.]*\).*/\1/p' | sort -g | head -1)
  echo "$name: exit $rc after $took s; the first rank's error after $(awk -v a="$t0" -v b="${first_error:-0}" 'BEGIN { printf "%.1f", b - a }') s (the fault took $(awk -v a="$t0" -v b="$t_action" 'BEGIN { printf "%.1f", b - a }') s)"
  grep -E "stall:|error:|supervise:" "$dir.log" | head -6
  check "$name: the job ended non-zero ($rc) within $timeout_s + 5 s ($took s)" \
    awk -v r="$rc" -v t="$took" -v lim="$((timeout_s + 5))" 'BEGIN { exit !(r != 0 && t <= lim) }'
  check "$name: distgru's message names $expect" grep -q -- "error: .*$expect" "$dir.log"
  check "$name: the launcher's summary names it too" grep -q -- "supervise:   rank 0 on node1 .*$expect" "$dir.log"
  local file whole=0 all=0
  for file in "$dir"/ckpt-*.pt; do
    all=$((all + 1))
    "$bin/distgru-eval" --checkpoint "$file" --data "$shared/data" >/dev/null 2>&1 && whole=$((whole + 1))
  done
  check "$name: every checkpoint left loads and scores ($whole of $all)" test "$all" -gt 0 -a "$whole" == "$all"
  local named; named=$(silent_hosts "$dir/errors" | tr '\n' ' ')
  check "$name: a restart would leave out ${silent:-no host} (silent_hosts: ${named:-none})" test "$named" == "${silent:+$silent }"
}
partition_node2() { link_down 2; }
stop_rank_on_node2() {
  local p
  for p in $(host_pids 2); do [[ $(cat "/proc/$p/comm" 2>/dev/null) == distgru-train ]] && kill -STOP "$p"; done
}
lose_node2() { link_down 2; kill -9 $(host_pids 2) "$(cluster_pid 2)" 2>/dev/null; }
lose_node3() { link_down 3; kill -9 $(host_pids 3) "$(cluster_pid 3)" 2>/dev/null; }

echo "== faults, --collective-timeout $timeout_s"
# In the partition node2's rank is alive and names rank 0 (node1) silent in
# turn; only the stopped rank of the stall says nothing, so only its host is
# left out.
fault partition hosts3 partition_node2 "no heartbeat from rank 1 (node2)" ""
link_up 2
fault stall hosts3 stop_rank_on_node2 "no heartbeat from rank 1 (node2)" node2

# A host that stays up but hangs: its rank stopped (kill -STOP) at step 20 of
# 40, and every rank it is given after (a hung host hangs them all). ssh
# still answers, so only the heartbeat's "no heartbeat from rank 2 (node3)"
# tells the launcher to leave it out of the restart.
echo "== --max-restarts 1, node3 hangs at step 20 of 40 (its rank stopped, the host answering)"
dir=$shared/silent
checks_before=$failed
LAUNCH=(--max-restarts 1)
across hosts3 "$dir" --steps 40 --collective-timeout "$timeout_s" --stall-warning 3 >"$dir.log" 2>&1 &
job=$!
for _ in $(seq 300); do grep -q "step 20/" "$dir.log" 2>/dev/null && break; sleep 0.1; done
: >"$dir.stopped"  # the PIDs stopped on node3, for the cleanup
( while kill -0 "$job" 2>/dev/null; do
    for p in $(host_pids 3); do
      [[ $(cat "/proc/$p/comm" 2>/dev/null) == distgru-train ]] && ! grep -qx "$p" "$dir.stopped" &&
        kill -STOP "$p" && echo "$p" >>"$dir.stopped"
    done
    sleep 0.2
  done ) &
hang=$!
deadline 90 "$job"
t0=$(date +%s.%N)
wait "$job"; rc=$?
took=$(awk -v a="$t0" -v b="$(date +%s.%N)" 'BEGIN { printf "%.1f", b - a }')
end_deadline; kill "$hang" 2>/dev/null; wait "$hang" 2>/dev/null
for p in $(sort -u "$dir.stopped"); do kill -CONT "$p" 2>/dev/null; kill -KILL "$p" 2>/dev/null; done
LAUNCH=()
echo "silent: exit $rc, $took s after the stop; ranks stopped on node3: $(wc -l <"$dir.stopped")"
grep -E "supervise:|train_cluster.sh:|resume:|ranks \(|test accuracy" "$dir.log" | cut -c1-220
check "silent: the job finished (exit $rc)" test "$rc" == 0
check "silent: the first start failed, node3 named silent" \
  grep -q "supervise:   rank 0 on node1 .*no heartbeat from rank 2 (node3)" "$dir.log"
check "silent: the launcher left node3 out, saying why" \
  grep -q "train_cluster.sh: leaving out node3: its rank went silent (no heartbeat) in attempt 1" "$dir.log"
check "silent: restarted on node1 and node2 only" \
  grep -q "ranks per host: node1 x 1 (1 thread), node2 x 1 (1 thread)$" "$dir.log"
check "silent: node3 ran no rank after the first start" test "$(wc -l <"$dir.stopped")" == 1
check "silent: resumed from the newest checkpoint, on the new world size" \
  grep -q "resume: checkpoint written by 3 ranks, continuing on 2" "$dir.log"
check "silent: trained to the end with test accuracy and AUC" grep -q "test accuracy .* auc" "$dir.log"
check "silent: the first start's error files kept (errors/attempt-1)" \
  grep -q "no heartbeat from rank 2 (node3)" "$dir/errors/attempt-1/rank-0.json"
if (( failed > checks_before )); then
  echo "---- $dir.log"; cut -c1-300 "$dir.log"
  for f in "$dir"/errors/rank-*.json "$dir"/errors/attempt-*/rank-*.json; do [[ -f $f ]] && { echo "---- $f"; cut -c1-600 "$f"; }; done
fi

echo "== automatic restart on the hosts left: node2 lost at step 20 of 60"
dir=$shared/restart
LAUNCH=(--max-restarts 2)
across hosts3 "$dir" --steps 60 --collective-timeout "$timeout_s" --stall-warning 3 --sample-log 1 >"$dir.log" 2>&1 &
job=$!
for _ in $(seq 300); do grep -q "step 20/" "$dir.log" 2>/dev/null && break; sleep 0.1; done
lose_node2
deadline 120 "$job"
wait "$job"; rc=$?
end_deadline
LAUNCH=()
grep -E "supervise:|train_cluster.sh:|resume:|ranks \(|test accuracy" "$dir.log" | cut -c1-220
check "restart: the job finished (exit $rc)" test "$rc" == 0
check "restart: the launcher named the failure" grep -q "supervise:   rank 0 on node1 .*no heartbeat from rank 1 (node2)" "$dir.log"
check "restart: node2 left out" grep -q "host node2 does not answer: restarting without it" "$dir.log"
check "restart: started again on 2 ranks, one per host" grep -q "2 ranks (1 on this host)" "$dir.log"
check "restart: resumed from the newest checkpoint, on the new world size" \
  grep -q "resume: checkpoint written by 3 ranks, continuing on 2; the rest of epoch" "$dir.log"
check "restart: trained to the end with test accuracy and AUC" grep -q "test accuracy .* auc" "$dir.log"
check "restart: test_metrics.json written" test -f "$dir/test_metrics.json"
# The samples of the interrupted epoch each seen at most once, from the rows
# every rank of both starts logged (--sample-log; tests/cli/sample_log_check.py).
audit=$(/usr/bin/python3 "$src/tests/cli/sample_log_check.py" "$dir" 32 2>&1)
check "restart: every step kept once, no row twice in an epoch: $audit" \
  /usr/bin/python3 "$src/tests/cli/sample_log_check.py" "$dir" 32
check "restart: the two starts' logs (3 ranks, then 2)" test "$(ls "$dir/samples" | wc -l)" == 5
# The audit itself fails where a row comes twice: the first row of step 2
# replaced by one of step 1 (same epoch) in a copy.
cp -r "$dir" "$dir.broken"
first=$(grep -h '^1 ' "$dir.broken"/samples/*.txt | head -1 | cut -d' ' -f3)
sed -i -E "s/^(2 [0-9]+) [0-9]+/\1 $first/" "$(grep -l '^2 ' "$dir.broken"/samples/*.txt | head -1)"
check "restart: the audit refuses a row trained on twice" \
  sh -c "! /usr/bin/python3 '$src/tests/cli/sample_log_check.py' '$dir.broken' 32 >/dev/null 2>&1"

echo "== a whole host lost (node3: every process killed, its link cut)"
printf 'node1\nnode3\n' >hosts13
fault host-lost hosts13 lose_node3 "no heartbeat from rank 1 (node3)" node3
check "host-lost: the launcher found node3 gone" grep -q "host node3 (rank 1) does not answer" "$shared/fault-host-lost.log"
finish
