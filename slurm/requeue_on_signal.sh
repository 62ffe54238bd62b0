# Sourced by the sbatch templates: runs the training step so that a
# preemption or time-limit warning becomes "checkpoint, then requeue", and a
# failure becomes "requeue, up to MAX_RESTARTS times".
#
# Slurm sends SIGUSR1 to this batch shell (--signal=B:USR1@<lead>, or
# `scancel -b -s USR1 <job>`). The trap forwards it to the srun step; every
# rank stops at the next step boundary, rank 0 writes a checkpoint, and they
# exit with status 75 (EX_TEMPFAIL). Then, and only then, the job requeues
# itself; the next start finds the checkpoint with --resume auto.
#
# A failure (a rank that died or timed out in a collective, a lost node): a
# rank that ends the job with an error writes it to DISTGRU_ERROR_DIR
# (src/runtime/error_file.h; set it on the shared filesystem before calling).
# If srun has not ended GRACE seconds (3) after that, which it does not while
# it waits for a node it cannot reach, it is killed. Then the job requeues
# itself when SLURM_RESTART_COUNT < MAX_RESTARTS (torchrun's --max-restarts)
# and resumes from the newest checkpoint on the nodes it gets next: a job
# submitted with a range of nodes (--nodes=2-4) starts again on fewer once
# Slurm has marked a lost node DOWN (SlurmdTimeout), rather than waiting for
# it to come back. A requeue can come before that (SlurmdTimeout is minutes on
# most clusters), and a stalled host is never marked down: the scheduler then
# gives the job the same host again. So before requeueing, the hosts that the
# heartbeat named silent ("no heartbeat from rank 2 (node3)") are written to
# DISTGRU_ERROR_DIR/silent-hosts, and leave_out_silent_hosts, called by the
# next start before it lays out its tasks, releases them from the job. A
# refused setting (exit 2) is never requeued: it would fail the same way.
#
#   leave_out_silent_hosts
#   run_requeueable srun ... --nodes="$SLURM_JOB_NUM_NODES" ... distgru-train ... --resume auto

readonly DISTGRU_EXIT_CHECKPOINTED=75
readonly DISTGRU_EXIT_REFUSED=2

# failures, silent_hosts and wait_killing_if_stuck, shared with the mpirun launchers.
source "$(dirname "${BASH_SOURCE[0]}")/../launch/supervise.sh"

# leave_out_silent_hosts: on a start after a failure, releases from this job
# the hosts in DISTGRU_ERROR_DIR/silent-hosts that it was given again, so the
# job goes on without them instead of failing on them a second time. It
# shrinks the running job (`scontrol update JobId=... NodeList=...`, which the
# job's owner may do: Slurm FAQ "Can I change my job's size after it has
# started running?") and sources the resize script scontrol writes, which
# sets SLURM_JOB_NODELIST, SLURM_JOB_NUM_NODES and the rest for the srun that
# follows. Never releases the host this script runs on (it is alive, and Slurm
# keeps the batch host), nor every host. Call it before SLURM_JOB_NUM_NODES
# is read for srun's layout.
leave_out_silent_hosts() {
  local errors=${DISTGRU_ERROR_DIR:-} here keep=() gone=() node host silent
  [[ -n $errors && -s $errors/silent-hosts && ${SLURM_RESTART_COUNT:-0} -gt 0 ]] || return 0
  here=${SLURMD_NODENAME:-$(hostname -s)}
  silent=$(<"$errors/silent-hosts")  # short names (silent_hosts)
  for node in $(scontrol show hostnames "$SLURM_JOB_NODELIST"); do
    # The heartbeat names the ranks' host names (MPI's processor name); a
    # site's NodeName need not be one, so the node's NodeHostName counts too.
    host=$(scontrol show node -o "$node" 2>/dev/null | sed -n 's/.* NodeHostName=\([^ ]*\).*/\1/p')
    host=${host:-$node}
    if [[ $node != "$here" ]] && grep -qxF -e "${node%%.*}" -e "${host%%.*}" <<<"$silent"; then gone+=("$node"); else keep+=("$node"); fi
  done
  (( ${#gone[@]} > 0 )) || return 0
  local list; list=$(IFS=,; echo "${keep[*]}")
  echo "distgru: this start was given ${gone[*]} again, silent in the last start that failed: leaving it out, the job goes on with $list, $(date -Is)"
  local work; work=$(mktemp -d)
  if ! (cd "$work" && scontrol update JobId="$SLURM_JOB_ID" NodeList="$list") || [[ ! -f $work/slurm_job_${SLURM_JOB_ID}_resize.sh ]]; then
    echo "distgru: could not release ${gone[*]} from job $SLURM_JOB_ID (scontrol update NodeList=$list failed); going on with every host it was given" >&2
    rm -rf "$work"; return 0
  fi
  source "$work/slurm_job_${SLURM_JOB_ID}_resize.sh"
  rm -rf "$work"
}

run_requeueable() {
  local restarts=${SLURM_RESTART_COUNT:-0} max=${MAX_RESTARTS:-0} grace=${GRACE:-3}
  local errors=${DISTGRU_ERROR_DIR:-}
  echo "distgru: job $SLURM_JOB_ID start on $SLURM_JOB_NUM_NODES nodes ($SLURM_JOB_NODELIST), CPUs per node ${SLURM_JOB_CPUS_PER_NODE:-?}, SLURM_RESTART_COUNT=$restarts, MAX_RESTARTS=$max, $(date -Is)"
  [[ -n $errors ]] && { mkdir -p "$errors"; rm -f "$errors"/rank-*.json; }
  "$@" &
  local step=$!
  trap 'echo "distgru: SIGUSR1 at $(date -Is), forwarding to the ranks"; kill -USR1 $step 2>/dev/null' USR1
  trap 'echo "distgru: SIGTERM at $(date -Is), forwarding to the ranks"; kill -TERM $step 2>/dev/null' TERM
  wait_killing_if_stuck "$step" "$errors" "$grace" distgru srun "killing it" || true
  local rc=0
  wait "$step" 2>/dev/null || rc=$?
  trap - USR1 TERM
  if [[ $rc == "$DISTGRU_EXIT_CHECKPOINTED" ]]; then
    echo "distgru: checkpoint safe, requeueing job $SLURM_JOB_ID at $(date -Is)"
    scontrol requeue "$SLURM_JOB_ID"
    exit 0
  fi
  if [[ -n $errors ]] && compgen -G "$errors/rank-*.json" >/dev/null; then
    echo "distgru: the step failed; what each rank reported, earliest first:"
    failures "$errors" --no-time | sed 's/^/distgru:   /'
    (( rc == 0 )) && rc=1
  elif (( rc > 128 )); then
    # srun's status is 128 + the signal of a task that died of one. A crash
    # leaves its message (runtime/error_file.h); a SIGKILL cannot.
    echo "distgru: a task died of signal $((rc - 128)) (SIG$(kill -l $((rc - 128)) 2>/dev/null || echo '?')) and left no message: SIGKILL is the kernel's out-of-memory killer or an administrator (the node's kernel log says which); srun's lines above name the task"
  fi
  echo "distgru: training step ended with status $rc at $(date -Is)"
  if (( rc != 0 && rc != DISTGRU_EXIT_REFUSED && restarts < max )); then
    if [[ -n $errors ]]; then
      silent_hosts "$errors" >"$errors/silent-hosts"
      [[ -s $errors/silent-hosts ]] && echo "distgru: silent in this start: $(paste -sd' ' "$errors/silent-hosts"); the next start leaves out any of them it is given again"
    fi
    echo "distgru: restart $((restarts + 1)) of $max: requeueing job $SLURM_JOB_ID; it resumes from the newest checkpoint"
    scontrol requeue "$SLURM_JOB_ID"  # ends this script too
    exit 0
  fi
  (( rc != 0 && max > 0 && restarts >= max )) && echo "distgru: giving up after $max restarts"
  exit "$rc"
}
