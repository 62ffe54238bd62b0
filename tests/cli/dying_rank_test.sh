#!/usr/bin/env bash
# A rank that dies (kill -9) or throws ends the whole job promptly with a
# non-zero exit and a message naming the rank; the others never hang; and
# launch/train_local.sh --max-restarts starts such a job again from its
# newest checkpoint.
source "$(dirname "$0")/common.sh"
readonly bound=30  # seconds from the failure to the end of the job

prepare_small "$tmp/data" 2000 100

# 1. kill -9 of rank 1 in the middle of training.
mpirun_np 2 "$bin/distgru-train" --config "$src/configs/tiny.ini" --data "$tmp/data" \
  --checkpoint-dir "$tmp/run" --epochs 50 --log-every 1 >"$tmp/kill.out" 2>"$tmp/kill.err" &
job=$!
for _ in $(seq 600); do grep -q "step 3/" "$tmp/kill.err" 2>/dev/null && break; sleep 0.1; done
victim=$(pgrep -f "^$bin/distgru-train" | sort -n | tail -1)
kill -9 "$victim"
killed_at=$(date +%s.%N)
rc=0
for _ in $(seq $((bound * 10))); do kill -0 "$job" 2>/dev/null || break; sleep 0.1; done
if kill -0 "$job" 2>/dev/null; then
  bad "job still running ${bound} s after kill -9 of a rank"; kill -9 "$job"; pkill -9 -f "^$bin/distgru-train" || true
else
  wait "$job" || rc=$?
  took=$(awk -v a="$killed_at" -v b="$(date +%s.%N)" 'BEGIN { printf "%.2f", b - a }')
  echo "job ended ${took} s after kill -9 (rc $rc)"
  check "job exits non-zero after a rank is killed" test "$rc" -ne 0
  check "the message names the dead rank" grep -q "rank [01] .*\(signal 9\|Killed\|exited\)" "$tmp/kill.err"
fi
check "no rank left behind" test -z "$(pgrep -f "^$bin/distgru-train" || true)"

# 2. A rank that throws: rank 0 cannot create its checkpoint directory while
# rank 1 goes on into the first collective; the abort must end rank 1 too.
touch "$tmp/a-file"
start=$(date +%s.%N)
rc=0
timeout $((bound * 2)) bash -c "mpirun -np 2 --oversubscribe --bind-to none '$bin/distgru-train' \
  --config '$src/configs/tiny.ini' --data '$tmp/data' --checkpoint-dir '$tmp/a-file/run' --steps 100" \
  >"$tmp/throw.out" 2>"$tmp/throw.err" || rc=$?
took=$(awk -v a="$start" -v b="$(date +%s.%N)" 'BEGIN { printf "%.2f", b - a }')
echo "throwing rank: job ended after ${took} s (rc $rc)"
check "job exits non-zero when a rank throws" test "$rc" -ne 0 -a "$rc" -ne 124
check "the failing rank and its error are reported" grep -q "\[rank 0/2\].*a-file" "$tmp/throw.err"
check "the job was aborted for all ranks" grep -q "aborting all ranks" "$tmp/throw.err"
check "no rank left behind" test -z "$(pgrep -f "^$bin/distgru-train" || true)"

# 3. launch/train_local.sh --max-restarts 1: kill -9 of a rank at step 40 of
# 80; the launcher starts again, resuming from the newest checkpoint.
rc=0
DISTGRU_BIN=$bin "$src/launch/train_local.sh" -n 2 -t 1 --max-restarts 1 -- --config "$src/configs/tiny.ini" \
  --data "$tmp/data" --checkpoint-dir "$tmp/restart" --steps 80 --log-every 1 --checkpoint-every 20 \
  >"$tmp/restart.log" 2>&1 &
job=$!
for _ in $(seq 600); do grep -q "step 41/" "$tmp/restart.log" 2>/dev/null && break; sleep 0.1; done
kill -9 "$(pgrep -f "^$bin/distgru-train" | sort -n | tail -1)"
wait "$job" || rc=$?
grep -E "supervise:|resume:|test accuracy" "$tmp/restart.log" | cut -c1-160
check "train_local.sh --max-restarts: the job finished (exit $rc)" test "$rc" == 0
check "train_local.sh --max-restarts: restarted once after the killed rank" grep -q "restart 1 of 1 from the newest checkpoint" "$tmp/restart.log"
# The kill lands at step 41 or, when the log reaches this script late (a
# tiny step takes ~20 ms), a few steps later: after step 60 at worst.
check "train_local.sh --max-restarts: resumed from the newest checkpoint (step 40 or 60), not from scratch" \
  grep -qE "resume: .*ckpt-000000([46])0.pt at step \10 " "$tmp/restart.log"
check "train_local.sh --max-restarts: trained to the end with test accuracy" grep -q "trained 80 steps\|test accuracy" "$tmp/restart.log"

# 4. A rank that crashes (SIGSEGV, here sent with kill) says so before it dies,
# and the launcher names it from the error file instead of printing only an
# exit status (runtime/error_file.h, install_crash_report).
rc=0
DISTGRU_BIN=$bin "$src/launch/train_local.sh" -n 2 -t 1 -- --config "$src/configs/tiny.ini" \
  --data "$tmp/data" --checkpoint-dir "$tmp/crash" --epochs 50 --log-every 1 >"$tmp/crash.log" 2>&1 &
job=$!
for _ in $(seq 600); do grep -q "step 3/" "$tmp/crash.log" 2>/dev/null && break; sleep 0.1; done
victim=$(pgrep -f "^$bin/distgru-train" | sort -n | tail -1)
kill -SEGV "$victim"
wait "$job" || rc=$?
grep -E "crashed|supervise:" "$tmp/crash.log" | cut -c1-200 || true
check "crash: the job exits non-zero (exit $rc)" test "$rc" -ne 0
check "crash: the rank printed what killed it and who sent it" \
  grep -qE "^\[rank [01]/2 on [^]]+\] crashed: SIGSEGV \(segmentation fault\), sent by process $$; backtrace:" "$tmp/crash.log"
check "crash: with a backtrace through distgru-train" grep -q "distgru-train(" "$tmp/crash.log"
check "crash: the launcher named the crashed rank and its host" \
  grep -qE "^supervise:   rank [01] on [^ ]+ at [^ ]+: \[rank [01]/2 on [^]]+\] crashed: SIGSEGV" "$tmp/crash.log"
check "no rank left behind" test -z "$(pgrep -f "^$bin/distgru-train" || true)"

# 5. A rank that never joins: stopped before MPI_Init (as on a host that hangs
# at start-up), so the other waits in MPI_Init, where no collective deadline or
# heartbeat exists yet. The start-up deadline (runtime/startup_deadline.h) ends
# the job and says why; with DISTGRU_STARTUP_TIMEOUT=0 (no deadline) this
# hangs until the timeout below. ${STARTUP_TIMEOUT:-5}: a hand run can pass 0 to see that.
mkdir -p "$tmp/startup-errors"
start=$(date +%s.%N)
rc=0
args=(--config "$src/configs/tiny.ini" --data "$tmp/data" --checkpoint-dir "$tmp/startup" --steps 20)
DISTGRU_STARTUP_TIMEOUT=${STARTUP_TIMEOUT:-5} DISTGRU_ERROR_DIR=$tmp/startup-errors timeout $bound \
  mpirun --oversubscribe --bind-to none -np 1 "$bin/distgru-train" "${args[@]}" \
  : -np 1 sh -c 'kill -STOP $$; exec "$0" "$@"' "$bin/distgru-train" "${args[@]}" >"$tmp/startup.log" 2>&1 || rc=$?
took=$(awk -v a="$start" -v b="$(date +%s.%N)" 'BEGIN { printf "%.1f", b - a }')
echo "rank that never joined: job ended after ${took} s (rc $rc)"
grep "start-up" "$tmp/startup.log" | cut -c1-200 || true
check "start-up: the job ends non-zero at the deadline, not at the test's timeout (exit $rc)" \
  test "$rc" -ne 0 -a "$rc" -ne 124
check "start-up: the waiting rank says what it waited for" \
  grep -qE "^\[rank 0/2 on [^]]+\] start-up: waited 5 s for the job's other ranks to join" "$tmp/startup.log"
check "start-up: and writes it as its error file for the launcher" \
  grep -q "start-up: waited 5 s" "$tmp/startup-errors/rank-0.json"
pkill -9 -f "kill -STOP" || true
check "no rank left behind" test -z "$(pgrep -f "^$bin/distgru-train" || true)"
finish
