#!/usr/bin/env bash
# slurm/train_cpu.sbatch on a real Slurm across real, separate hosts: the
# namespace cluster of cluster.sh with a slurmd on each host
# (slurm_on_cluster.sh).
#   - 2 nodes x 1 task, 3 nodes x 1 task and 2 nodes x 2 tasks (srun
#     --mpi=pmix) give bitwise the per-step losses and test results of the
#     same world size under mpirun on one host, with the layout logged;
#   - automatic restart: --nodes=2-3 (3 given), node3 lost at step 20 (its
#     processes, slurmd included, killed and its link cut): the failed rank's
#     message names it, the template kills the stuck srun and requeues the
#     job (MAX_RESTARTS), Slurm marks node3 DOWN, and the job comes back on
#     2 nodes, resumes from the newest checkpoint on the new world size and
#     finishes with test accuracy and AUC;
#   - a stalled host: --nodes=2-3, node3's rank stopped (kill -STOP) at step
#     20, its slurmd alive, so Slurm never marks it down and gives the
#     requeued job node3 again: the template releases it from the job
#     (leave_out_silent_hosts) and the job goes on with 2 nodes;
#   when a check fails, the jobs' logs are printed whole (for CI's log).
#   tests/cluster/slurm_multi_host_test.sh <bin dir> <imdb archive> <source dir>
source "$(dirname "$0")/../cli/common.sh"
source "$src/tests/cluster/cluster.sh"
source "$src/tests/cluster/slurm_on_cluster.sh"
set +e

shared=$(mktemp -d /var/tmp/distgru_slurm_hosts_test.XXXXXX)
trap 'cluster_down; slurm_down; rm -rf "$tmp"; [[ -n ${KEEP:-} ]] || rm -rf "$shared"' EXIT  # KEEP=1: keep the logs
export CLUSTER_SHARE="$src:$bin"  # a checkout under /tmp stays visible on every host
cluster_up 3 "$shared/cluster"
slurm_up 10 || { finish; exit 1; }
ok "Slurm up on 3 hosts: $(on_host 1 sinfo -h -o '%D nodes %T (%N)')"

prepare_small "$shared/data" 1000 301
cd "$shared"
flags="--log-every 1 --checkpoint-every 10 --eval-every 15"
export OMPI_ALLOW_RUN_AS_ROOT=1 OMPI_ALLOW_RUN_AS_ROOT_CONFIRM=1

one_host() {  # N DIR: the reference, N ranks under mpirun on node1
  on_host 1 mpirun -np "$1" --oversubscribe --bind-to none --allow-run-as-root -x OMP_NUM_THREADS=1 \
    "$bin/distgru-train" --config "$src/configs/tiny.ini" --data "$shared/data" --checkpoint-dir "$2" \
    --steps 30 --threads 1 $flags >"$2.log" 2>&1
}
# submit NAME EXTRA_ARGS SBATCH_ARGS...: the project's template, as a user submits it.
submit() {
  local name=$1 extra=$2; shift 2
  on_host 1 env DISTGRU="$src" DISTGRU_BIN="$bin" DATA="$shared/data" RUN="$shared/$name" \
    CONFIG="$src/configs/tiny.ini" EXTRA_ARGS="$extra" MAX_RESTARTS="${MAX_RESTARTS:-0}" \
    TASKS_PER_NODE="$TASKS_PER_NODE" THREADS=1 \
    sbatch --parsable --output="$shared/$name.out" --chdir="$shared" "$@" \
    "$src/slurm/train_cpu.sbatch"
}
# finished JOB [SECONDS]: waits for the job to end; prints its state and restarts.
finished() {
  local info state
  for _ in $(seq $(( ${2:-120} * 2 ))); do
    info=$(on_host 1 scontrol show job "$1" 2>/dev/null)
    state=$(sed -n 's/.*JobState=\([A-Z_]*\).*/\1/p' <<<"$info")
    [[ $state =~ ^(COMPLETED|FAILED|CANCELLED|TIMEOUT|NODE_FAIL)$ ]] && break
    sleep 0.5
  done
  echo "$state $(sed -n 's/.*Restarts=\([0-9]*\).*/\1/p' <<<"$info")"
}

# Every node idle again (the last job's nodes may still be completing).
wait_idle() {
  for _ in $(seq 60); do
    [[ $(on_host 1 sinfo -h -o '%T %D' 2>/dev/null | awk '$1 == "idle" { n += $2 } END { print n + 0 }') == "$CLUSTER_N" ]] && return 0
    sleep 0.5
  done
  echo "warning: not every node is idle: $(on_host 1 sinfo -h -o '%T %N')"
}

case_of() {  # NAME NODES TASKS_PER_NODE
  local name=$1 nodes=$2 per=$3 n=$(( $2 * $3 ))
  [[ -f ref$n.log ]] || one_host "$n" "$shared/ref$n"
  wait_idle
  local job; job=$(TASKS_PER_NODE=$per submit "$name" "--steps 30 $flags" --nodes="$nodes")
  local result; result=$(finished "$job")
  check "$name: job $job completed ($result)" test "${result%% *}" == COMPLETED
  [[ ${result%% *} == COMPLETED ]] || { echo "---- $name.out"; grep -vE '^[a-z-]+ = ' "$name.out" | tail -25; }
  check "$name: $n ranks, $per on each of the $nodes hosts" grep -q "$n ranks ($per on this host)" "$name.out"
  local layout="ranks per host: node1 x $per (1 thread), node2 x $per (1 thread)"
  (( nodes == 3 )) && layout="$layout, node3 x $per (1 thread)"
  check "$name: the layout logged ($layout)" grep -qF "$layout" "$name.out"
  check "$name: 30 per-step losses, bitwise those of $n ranks on one host" \
    bash -c '[[ $(wc -l <<<"$1") == 30 && "$1" == "$2" ]]' _ "$(step_losses "$name/metrics.jsonl")" "$(step_losses "ref$n/metrics.jsonl")"
  check "$name: test results those of one host ($(test_line "$name.out"))" \
    test "$(test_line "$name.out")" == "$(test_line "ref$n.log")" -a -n "$(test_line "$name.out")"
}
echo "== sbatch across hosts"
case_of sbatch-2x1 2 1
case_of sbatch-3x1 3 1
case_of sbatch-2x2 2 2

echo "== a stalled host: --nodes=2-3, node3's rank stopped at step 20 of 40, MAX_RESTARTS=1"
wait_idle
job=$(MAX_RESTARTS=1 TASKS_PER_NODE=1 submit stalled "--steps 40 $flags --collective-timeout 10 --stall-warning 3" --nodes=2-3)
for _ in $(seq 600); do grep -q "step 20/" stalled.out 2>/dev/null && break; sleep 0.1; done
check "stalled: the job started on 3 nodes" grep -q "start on 3 nodes" stalled.out
stalled_rank=$(for p in $(host_pids 3); do [[ $(cat /proc/$p/comm 2>/dev/null) == distgru-train ]] && echo "$p"; done)
kill -STOP $stalled_rank
result=$(finished "$job" 180)
grep -E "^distgru:|resume:|ranks \(|test accuracy" stalled.out | cut -c1-220
check "stalled: completed after one requeue ($result)" test "$result" == "COMPLETED 1"
check "stalled: the failed rank named node3" grep -q "distgru:   rank 0 on node1: .*no heartbeat from rank 2 (node3)" stalled.out
check "stalled: the template recorded node3 as silent" grep -q "distgru: silent in this start: node3;" stalled.out
check "stalled: the second start was given node3 again and left it out" \
  grep -q "distgru: this start was given node3 again, silent in the last start that failed: leaving it out, the job goes on with node1,node2" stalled.out
check "stalled: the second start ran on 2 nodes" grep -q "start on 2 nodes (node\[1-2\]), .*SLURM_RESTART_COUNT=1" stalled.out
check "stalled: resumed on the new world size and trained to the end" \
  grep -q "resume: checkpoint written by 3 ranks, continuing on 2" stalled.out
check "stalled: test accuracy and AUC" grep -q "test accuracy .* auc" stalled.out
check "stalled: node3 is still up for Slurm ($(on_host 1 sinfo -h -n node3 -o %T))" \
  test "$(on_host 1 sinfo -h -n node3 -o %T | grep -c down)" == 0

echo "== automatic restart: --nodes=2-3, node3 lost at step 20 of 60, MAX_RESTARTS=2"
wait_idle
job=$(MAX_RESTARTS=2 TASKS_PER_NODE=1 submit restart "--steps 60 $flags --collective-timeout 10 --stall-warning 3 --sample-log 1" \
  --nodes=2-3)
for _ in $(seq 600); do grep -q "step 20/" restart.out 2>/dev/null && break; sleep 0.1; done
check "restart: the job started on 3 nodes" grep -q "start on 3 nodes" restart.out
t0=$(date +%s.%N)
link_down 3; kill -9 $(host_pids 3) "$(cluster_pid 3)" 2>/dev/null
result=$(finished "$job" 240)
took=$(awk -v a="$t0" -v b="$(date +%s.%N)" 'BEGIN { printf "%.0f", b - a }')
echo "restart: job $job ended $result, ${took} s after node3 was lost"
grep -E "^distgru:|resume:|ranks \(|test accuracy" restart.out | cut -c1-220
check "restart: completed after one requeue ($result)" test "$result" == "COMPLETED 1"
check "restart: the failed rank named node3" grep -q "distgru:   rank 0 on node1: .*no heartbeat from rank 2 (node3)" restart.out
check "restart: the template requeued the job" grep -q "restart 1 of 2: requeueing job $job" restart.out
check "restart: the template recorded node3 as silent" grep -q "distgru: silent in this start: node3;" restart.out
check "restart: the second start had 2 nodes, node3 left out" grep -q "start on 2 nodes (node\[1-2\]), .*SLURM_RESTART_COUNT=1" restart.out
check "restart: resumed from the newest checkpoint on the new world size" \
  grep -q "resume: checkpoint written by 3 ranks, continuing on 2; the rest of epoch" restart.out
check "restart: trained to step 60 with test accuracy and AUC" grep -q "test accuracy .* auc" restart.out
# The samples of the interrupted epoch each seen at most once: the update of
# every step the run kept, from the rows each rank logged (--sample-log).
check "restart: every step kept once, no row twice in an epoch: $(/usr/bin/python3 "$src/tests/cli/sample_log_check.py" restart 32 2>&1)" \
  /usr/bin/python3 "$src/tests/cli/sample_log_check.py" restart 32
node3_down() { [[ $(on_host 1 sinfo -h -n node3 -o %T) == down* ]]; }
check "restart: Slurm marked node3 down ($(on_host 1 sinfo -h -n node3 -o %T))" node3_down
if (( failed > 0 )); then
  for log in *.out; do echo "---- $log"; cut -c1-300 "$log"; done
fi
finish
