# Sourced by the sbatch templates: runs the training step so that a
# preemption or time-limit warning becomes "checkpoint, then requeue".
#
# Slurm sends SIGUSR1 to this batch shell (--signal=B:USR1@<lead>, or
# `scancel -b -s USR1 <job>`). The trap forwards it to the srun step; every
# rank stops at the next step boundary, rank 0 writes a checkpoint, and they
# exit with status 75 (EX_TEMPFAIL). Then, and only then, the job requeues
# itself; the next start finds the checkpoint with --resume auto.
#
#   run_requeueable srun ... distgru-train ... --resume auto

readonly DISTGRU_EXIT_CHECKPOINTED=75

run_requeueable() {
  echo "distgru: job $SLURM_JOB_ID start, SLURM_RESTART_COUNT=${SLURM_RESTART_COUNT:-0}, $(date -Is)"
  "$@" &
  local step=$!
  trap 'echo "distgru: SIGUSR1 at $(date -Is), forwarding to the ranks"; kill -USR1 $step 2>/dev/null' USR1
  trap 'echo "distgru: SIGTERM at $(date -Is), forwarding to the ranks"; kill -TERM $step 2>/dev/null' TERM
  local rc=0
  # `wait` returns early when a trapped signal arrives: wait again until the
  # step has really ended.
  while :; do
    rc=0
    wait "$step" || rc=$?
    kill -0 "$step" 2>/dev/null || break
  done
  trap - USR1 TERM
  if [[ $rc == "$DISTGRU_EXIT_CHECKPOINTED" ]]; then
    echo "distgru: checkpoint safe, requeueing job $SLURM_JOB_ID at $(date -Is)"
    scontrol requeue "$SLURM_JOB_ID"
    exit 0
  fi
  echo "distgru: training step ended with status $rc at $(date -Is)"
  exit "$rc"
}
