# Sourced by launch/train_local.sh and launch/train_cluster.sh: runs mpirun
# under a small supervisor, as torchrun's agent runs its workers.
#
# supervise ERROR_DIR GRACE_S CMD...: runs CMD (an mpirun command line) with
# DISTGRU_ERROR_DIR=ERROR_DIR (forward it to the ranks with mpirun -x). A rank
# that ends the job with an error writes ERROR_DIR/rank-R.json first
# (src/runtime/error_file.h). If mpirun has not ended GRACE_S seconds after
# the first such file (it waits for TCP to give up on a host it cannot reach:
# ~15 minutes with Linux's defaults), the supervisor kills it
# (wait_killing_if_stuck). The daemons on the hosts still reachable see
# mpirun go and end their ranks. Prints what each failed rank reported
# (which rank, on which host, what), earliest first, and returns CMD's
# status, or 1 when it had to stop mpirun.
# CMD runs in a session of its own, so that a terminal's Ctrl-C reaches the
# launcher alone: Open MPI's mpirun, on SIGINT or SIGTERM, kills the ranks
# about a second later, which may be before they have checkpointed. The
# launcher turns a first SIGINT or SIGTERM into SIGUSR1 for CMD's process
# group (mpirun forwards USR1 to every rank; the ranks checkpoint and exit 75:
# src/runtime/stop_signals.h), and a second one into SIGTERM for mpirun (stop
# now); SUPERVISE_INTERRUPTED is then 1.
SUPERVISE_INTERRUPTED=0

# failures ERROR_DIR [--no-time]: one line per rank that reported a failure,
# earliest first: "rank R on HOST at TIME: MESSAGE" ("rank R on HOST: MESSAGE").
failures() {
  local file with_time=1
  [[ ${2:-} == --no-time ]] && with_time=0
  for file in "$1"/rank-*.json; do
    [[ -f $file ]] || continue
    local t rank host time error
    t=$(sed -n 's/.*"unix_time":\([0-9.eE+]*\).*/\1/p' "$file")
    rank=$(sed -n 's/.*"rank":\([0-9]*\).*/\1/p' "$file")
    host=$(sed -n 's/.*"host":"\([^"]*\)".*/\1/p' "$file")
    time=$(sed -n 's/.*"time":"\([^"]*\)".*/\1/p' "$file")
    error=$(sed -n 's/.*"error":"\(\([^"\\]\|\\.\)*\)".*/\1/p' "$file" | sed 's/\\"/"/g; s/\\\\/\\/g')
    if (( with_time )); then
      printf '%s\trank %s on %s at %s: %s\n' "$t" "$rank" "$host" "$time" "$error"
    else
      printf '%s\trank %s on %s: %s\n' "$t" "$rank" "$host" "$error"
    fi
  done | sort -g | cut -f2-
}

# short NAME: NAME without its domain (node3.cluster.local is node3); an
# address as it is.
short() {
  if [[ $1 =~ ^[0-9.]+$ || $1 == *:* ]]; then echo "$1"; else echo "${1%%.*}"; fi
}

# silent_hosts ERROR_DIR: the hosts of the ranks that a rank's message names
# as silent ("no heartbeat from rank 1 (node2) for 9.8 s, rank 2 (node3) for
# 9.9 s: ...", src/distributed/heartbeat.h) and that reported nothing
# themselves, one per line, short (the launchers match short names). A
# stopped or hung rank says nothing. A rank that wrote its own error file
# was running: named silent, it was cut off from the others, and in a
# partition each side names the other (rank 0 names node2's rank, node2's
# names rank 0 on node1), so its host is no more to blame than theirs; a
# restart finds whether it still answers. Only those named: a rank that
# failed on its own (a refused setting, a bug, memory) would fail on any host.
silent_hosts() {
  local dir=$1 rank host
  compgen -G "$dir/rank-*.json" >/dev/null || return 0
  # `|| true`: none is an answer, not a failure (the templates run set -e -o pipefail).
  grep -oh 'no heartbeat from [^:"]*' "$dir"/rank-*.json | grep -oE 'rank [0-9]+ \([^)]*\)' | sort -u |
    while read -r _ rank host; do
      [[ -e $dir/rank-$rank.json ]] || short "${host//[()]/}"
    done | sort -u || true
}

# wait_killing_if_stuck PID ERROR_DIR GRACE_S PREFIX WHAT ACTION: waits for PID (the
# mpirun or srun of a job) to end, polling ERROR_DIR ("": no watch). If PID
# has not ended GRACE_S seconds after the first rank-*.json appeared (it
# waits for a host it cannot reach), kills it (SIGKILL: mpirun's own abort,
# on SIGTERM, would wait for that host too, and crashed in PMIx_Finalize when
# tried), saying so as "PREFIX: WHAT has not ended ...: ACTION". Returns 0 when it had
# to kill, 1 otherwise. The caller's traps run between polls.
wait_killing_if_stuck() {
  local pid=$1 error_dir=$2 grace=$3 prefix=$4 what=$5 failed_at="" now
  while kill -0 "$pid" 2>/dev/null; do
    if [[ -n $error_dir ]]; then
      now=$(( ${EPOCHREALTIME/./} / 1000 ))  # milliseconds, from bash's clock (no process per poll)
      if [[ -z $failed_at ]] && compgen -G "$error_dir/rank-*.json" >/dev/null; then failed_at=$now; fi
      if [[ -n $failed_at ]] && (( now - failed_at >= grace * 1000 )); then
        echo "$prefix: $what has not ended ${grace} s after a rank failed (a host it cannot reach?): $6" >&2
        kill -KILL "$pid" 2>/dev/null
        return 0
      fi
    fi
    sleep 0.1
  done
  return 1
}

# supervise_interrupted PID: the launcher's INT/TERM trap (above).
supervise_interrupted() {
  if (( SUPERVISE_INTERRUPTED )); then
    echo "supervise: stopping mpirun now" >&2
    kill -TERM "$1" 2>/dev/null
    return 0
  fi
  SUPERVISE_INTERRUPTED=1
  echo "supervise: stopping: the ranks checkpoint at the end of their step and exit (Ctrl-C again: at once)" >&2
  kill -USR1 -- "-$1" 2>/dev/null || kill -USR1 "$1" 2>/dev/null
  return 0
}

supervise() {
  local error_dir=$1 grace=$2
  shift 2
  mkdir -p "$error_dir"
  rm -f "$error_dir"/rank-*.json
  # setsid runs CMD as the leader of a new session and process group (in a
  # script, a background job is no group leader, so setsid need not fork
  # and $! is CMD's pid and group id).
  DISTGRU_ERROR_DIR=$error_dir setsid "$@" &
  local pid=$! stopped=0 rc
  SUPERVISE_INTERRUPTED=0
  trap 'supervise_interrupted '"$pid" INT TERM
  wait_killing_if_stuck "$pid" "$error_dir" "$grace" supervise mpirun "stopping it" && stopped=1
  # No "Killed" notice: the line above says it. A trapped signal ends `wait`
  # early (status > 128); wait again until the job has really ended.
  rc=0; wait "$pid" 2>/dev/null || rc=$?
  while kill -0 "$pid" 2>/dev/null; do rc=0; wait "$pid" 2>/dev/null || rc=$?; done
  trap - INT TERM
  local causes
  causes=$(failures "$error_dir")
  if [[ -n $causes ]]; then
    echo "supervise: the job failed; what each rank reported, earliest first:" >&2
    sed 's/^/supervise:   /' <<<"$causes" >&2
    (( rc == 0 || stopped > 0 )) && rc=1
  fi
  return "$rc"
}

# supervise_with_restarts MAX ERROR_DIR GRACE_S PREPARE CMD...: supervise, and
# after a failure start again up to MAX times (torchrun's --max-restarts).
# Before each start, PREPARE (a function name, or "true") is called with the
# attempt number; it may rewrite the global array RESTART_CMD (which starts
# as CMD) to launch on fewer hosts. Not restarted: success, a refused
# setting (exit 2, the same every time), a stop asked for (SIGINT/SIGTERM to
# the launcher; exit 75 after a checkpoint). The training command must
# resume (distgru-train --resume auto) for a restart to carry on.
supervise_with_restarts() {
  local max=$1 error_dir=$2 grace=$3 prepare=$4
  shift 4
  RESTART_CMD=("$@")
  local attempt=0 rc
  while true; do
    "$prepare" "$attempt" || return $?
    export DISTGRU_RESTART_COUNT=$attempt
    supervise "$error_dir" "$grace" "${RESTART_CMD[@]}"
    rc=$?
    if (( rc == 0 || rc == 2 || rc == 75 || SUPERVISE_INTERRUPTED )); then return "$rc"; fi
    if (( attempt >= max )); then
      (( max > 0 )) && echo "supervise: giving up after $max restarts (exit $rc)" >&2
      return "$rc"
    fi
    attempt=$((attempt + 1))
    echo "supervise: exit $rc; restart $attempt of $max from the newest checkpoint" >&2
    sleep 1
  done
}

# checkpoint_dir_of FLAGS...: the value of --checkpoint-dir among
# distgru-train's flags ("" when it is not there, e.g. set in the --config file).
checkpoint_dir_of() {
  local found=""
  while [[ $# -gt 0 ]]; do
    case "$1" in
      --checkpoint-dir) found=${2:-}; shift ;;
      --checkpoint-dir=*) found=${1#*=} ;;
    esac
    shift
  done
  echo "$found"
}

# with_resume ATTEMPT FLAGS...: FLAGS, plus --resume auto after the first
# attempt unless they already say how to resume.
with_resume() {
  local attempt=$1 f has=0
  shift
  for f in "$@"; do [[ $f == --resume || $f == --resume=* ]] && has=1; done
  printf '%s\0' "$@"
  (( attempt > 0 && has == 0 )) && printf '%s\0' --resume auto
  return 0
}
