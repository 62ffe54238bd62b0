#!/usr/bin/env bash
# A real Slurm cluster on this machine: starts munged, slurmctld and slurmd on
# localhost, submits the project's own slurm/train_cpu.sbatch with 2 tasks on
# a small config, sends it SIGUSR1 mid-run, and checks that the job
# checkpointed, was requeued (SLURM_RESTART_COUNT=1), resumed from the
# checkpoint rather than from scratch, and finished with accuracy and AUC.
# Then a second job (MAX_RESTARTS=1): a rank crashed with SIGSEGV is named
# from its crash report, the job requeues, a rank killed with SIGKILL in the
# second start is said to have died of signal 9, and the job gives up.
# Stops every daemon it started, by PID. Needs root and Debian's slurmctld,
# slurmd, slurm-client, munge (launch/install_deps.sh installs them).
#   tests/slurm/slurm_cluster_test.sh <bin dir> <imdb archive> <source dir>
source "$(dirname "$0")/../cli/common.sh"

[[ $(id -u) == 0 ]] || { echo "SKIP: needs root to run slurmd"; exit 77; }
for tool in munged slurmctld slurmd sbatch scontrol; do
  command -v "$tool" >/dev/null || { echo "FAIL: $tool not installed (launch/install_deps.sh)"; exit 1; }
done

pids=()
stop_daemons() {
  for pid in "${pids[@]}"; do kill "$pid" 2>/dev/null || true; done
  sleep 1
  for pid in "${pids[@]}"; do kill -9 "$pid" 2>/dev/null || true; done
  rm -rf "$tmp"
}
trap stop_daemons EXIT

host=$(hostname -s)
node=$(slurmd -C | head -1)
mkdir -p "$tmp/munge" "$tmp/state" "$tmp/spool" "$tmp/log"
chmod 700 "$tmp/munge"
dd if=/dev/urandom of="$tmp/munge/munge.key" bs=1024 count=1 status=none
chmod 400 "$tmp/munge/munge.key"
munged --force --socket="$tmp/munge/socket" --key-file="$tmp/munge/munge.key" \
  --pid-file="$tmp/munge/pid" --log-file="$tmp/log/munged.log" --seed-file="$tmp/munge/seed"
pids+=("$(cat "$tmp/munge/pid")")

cat >"$tmp/slurm.conf" <<CONF
ClusterName=distgru-test
SlurmctldHost=$host
SlurmUser=root
SlurmdUser=root
SlurmctldPort=16817
SlurmdPort=16818
AuthType=auth/munge
CredType=cred/munge
AuthInfo=socket=$tmp/munge/socket,cred_expire=5
StateSaveLocation=$tmp/state
SlurmdSpoolDir=$tmp/spool
SlurmctldPidFile=$tmp/slurmctld.pid
SlurmdPidFile=$tmp/slurmd.pid
SlurmctldLogFile=$tmp/log/slurmctld.log
SlurmdLogFile=$tmp/log/slurmd.log
ProctrackType=proctrack/linuxproc
TaskPlugin=task/none
MpiDefault=pmix
SelectType=select/cons_tres
SelectTypeParameters=CR_Core
SchedulerParameters=sched_interval=2
JobRequeue=1
ReturnToService=2
JobAcctGatherType=jobacct_gather/none
AccountingStorageType=accounting_storage/none
$node State=UNKNOWN
PartitionName=debug Nodes=$host Default=YES MaxTime=INFINITE State=UP
CONF
export SLURM_CONF=$tmp/slurm.conf
slurmctld -D -i -f "$SLURM_CONF" >"$tmp/log/slurmctld.out" 2>&1 &
pids+=($!)
slurmd -D -f "$SLURM_CONF" >"$tmp/log/slurmd.out" 2>&1 &
pids+=($!)
for _ in $(seq 60); do sinfo -h -o %T 2>/dev/null | grep -q idle && break; sleep 1; done
if ! sinfo -h -o %T 2>/dev/null | grep -q idle; then
  bad "the node did not come up"; tail -20 "$tmp/log/"*; finish; exit 1
fi
ok "slurmctld + slurmd up on $host ($(sinfo -h -o '%c CPUs'))"

prepare_small "$tmp/data" 2000 200
export DISTGRU=$src DISTGRU_BIN=$bin DATA=$tmp/data RUN=$tmp/run CONFIG=$src/configs/tiny.ini
export EXTRA_ARGS="--epochs 2 --log-every 1 --checkpoint-every 1000"
export OMPI_ALLOW_RUN_AS_ROOT=1 OMPI_ALLOW_RUN_AS_ROOT_CONFIRM=1
export TASKS_PER_NODE=2 THREADS=1
job=$(sbatch --parsable --nodes=1 \
  --output="$tmp/job.out" --chdir="$tmp" "$src/slurm/train_cpu.sbatch")
echo "submitted job $job"
for _ in $(seq 300); do grep -q "step 5/" "$tmp/job.out" 2>/dev/null && break; sleep 0.5; done
check "the job is training" grep -q "step 5/" "$tmp/job.out"
sent=$(date +%s.%N)
scancel -b -s USR1 "$job" || true
for _ in $(seq 600); do
  info=$(scontrol show job "$job" 2>/dev/null || true)
  state=$(sed -n 's/.*JobState=\([A-Z_]*\).*/\1/p' <<<"$info")
  restarts=$(sed -n 's/.*Restarts=\([0-9]*\).*/\1/p' <<<"$info")
  [[ $state == COMPLETED || $state == FAILED || $state == CANCELLED || $state == TIMEOUT ]] && break
  sleep 1
done
echo "job $job: state $state, restarts $restarts"
cat "$tmp/job.out" | grep -E "distgru:|stopped by|resume:|test accuracy|exiting" || true
stopped=$(sed -n 's/.*stopped by signal 10 at step \([0-9]*\).*/\1/p' "$tmp/job.out" | head -1)
check "job completed" test "$state" == COMPLETED
check "the batch shell forwarded SIGUSR1 to the ranks" grep -q "distgru: SIGUSR1 at" "$tmp/job.out"
check "the ranks checkpointed at step ${stopped:-?} and exited 75" grep -q "exiting with status 75" "$tmp/job.out"
check "the job requeued itself once (Restarts=$restarts)" test "$restarts" == 1
check "the second start saw SLURM_RESTART_COUNT=1" grep -q "SLURM_RESTART_COUNT=1" "$tmp/job.out"
check "it resumed from the checkpoint, not from scratch" grep -q "resume: .*ckpt-0*${stopped:-x}.pt at step ${stopped:-x} " "$tmp/job.out"
check "it finished with test accuracy and AUC" grep -q "test accuracy .* auc" "$tmp/job.out"
check "test_metrics.json written" test -f "$tmp/run/test_metrics.json"

# A rank that crashes, then one killed: the template names the first (the
# rank's crash report) and says what the second died of, requeues once
# (MAX_RESTARTS=1) and then gives up.
crash=$(MAX_RESTARTS=1 RUN=$tmp/crash EXTRA_ARGS="--epochs 50 --log-every 1" sbatch --parsable --nodes=1 \
  --output="$tmp/crash.out" --chdir="$tmp" "$src/slurm/train_cpu.sbatch")
victim_at() {  # N: a rank of the job once its N-th start has logged step 3
  # (the requeued start comes about a minute after the first ends: the
  # first's last rank, stuck in a collective, goes at Slurm's KillWait)
  local n
  for _ in $(seq 1200); do
    n=$(grep -c "step 3/" "$tmp/crash.out" 2>/dev/null)
    (( ${n:-0} >= $1 )) && break
    sleep 0.2
  done
  pgrep -f "^$bin/distgru-train .*--checkpoint-dir $tmp/crash" | sort -n | tail -1 || true
}
victim=$(victim_at 1); [[ -n $victim ]] && kill -SEGV "$victim"
victim=$(victim_at 2); [[ -n $victim ]] && kill -KILL "$victim"
# The batch script's last line ends the wait: the job's state follows only
# once the rank left in a collective has gone (KillWait).
for _ in $(seq 300); do
  state=$(scontrol show job "$crash" 2>/dev/null | sed -n 's/.*JobState=\([A-Z_]*\).*/\1/p')
  [[ $state =~ ^(COMPLETED|FAILED|CANCELLED|TIMEOUT)$ ]] && break
  grep -q "distgru: giving up after\|distgru: training step ended with status 0" "$tmp/crash.out" 2>/dev/null && break
  sleep 0.5
done
grep -E "^distgru:" "$tmp/crash.out" | cut -c1-200 || true
check "crash: the template named the crashed rank from its report" \
  grep -qE "^distgru:   rank [01] on $host: \[rank [01]/2 on $host\] crashed: SIGSEGV \(segmentation fault\), sent by process" "$tmp/crash.out"
check "crash: requeued once" grep -q "distgru: restart 1 of 1: requeueing job $crash" "$tmp/crash.out"
check "crash: the killed task's signal said, with its likely causes" \
  grep -q "distgru: a task died of signal 9 (SIGKILL) and left no message: SIGKILL is the kernel's out-of-memory killer" "$tmp/crash.out"
check "crash: then it gave up (job $state)" grep -q "distgru: giving up after 1 restarts" "$tmp/crash.out"
scancel "$crash" 2>/dev/null || true
pkill -KILL -f "^$bin/distgru-train .*--checkpoint-dir $tmp/crash" 2>/dev/null || true
if [[ $failed != 0 ]]; then
  echo "---- crash job output"; tail -30 "$tmp/crash.out" 2>/dev/null || true
  scontrol show job "$crash" 2>/dev/null | head -12 || true
  echo "---- job output"; tail -30 "$tmp/job.out" 2>/dev/null || true
  echo "---- slurmctld"; tail -15 "$tmp/log/slurmctld.log" || true
  echo "---- slurmd"; tail -15 "$tmp/log/slurmd.log" || true
fi
finish
