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
# it to come back. A refused setting (exit 2) is never requeued: it would
# fail the same way.
#
#   run_requeueable srun ... distgru-train ... --resume auto

readonly DISTGRU_EXIT_CHECKPOINTED=75
readonly DISTGRU_EXIT_REFUSED=2

# failures and wait_killing_if_stuck, shared with the mpirun launchers.
source "$(dirname "${BASH_SOURCE[0]}")/../launch/supervise.sh"

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
  fi
  echo "distgru: training step ended with status $rc at $(date -Is)"
  if (( rc != 0 && rc != DISTGRU_EXIT_REFUSED && restarts < max )); then
    echo "distgru: restart $((restarts + 1)) of $max: requeueing job $SLURM_JOB_ID; it resumes from the newest checkpoint"
    scontrol requeue "$SLURM_JOB_ID"  # ends this script too
    exit 0
  fi
  (( rc != 0 && max > 0 && restarts >= max )) && echo "distgru: giving up after $max restarts"
  exit "$rc"
}
