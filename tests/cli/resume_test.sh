#!/usr/bin/env bash
# Preemption and faults around checkpoints, with the real executables:
# SIGUSR1 -> checkpoint -> exit 75 -> resume; kill rank 0 in the middle of a
# checkpoint write -> resume from the previous one; a corrupted newest
# checkpoint -> resume from the one before; resume on 3 and on 1 ranks of a
# checkpoint written by 2.
source "$(dirname "$0")/common.sh"

prepare_small "$tmp/data" 2000 200
base=(--config "$src/configs/tiny.ini" --data "$tmp/data" --log-every 1 --eval-every 1000)
# train RANKS DIR [mpirun flags...] -- [distgru-train flags...]
train() {
  local np=$1 dir=$2; shift 2
  local extra=()
  while [[ $# -gt 0 && $1 != -- ]]; do extra+=("$1"); shift; done
  [[ $# -gt 0 ]] && shift
  mpirun -np "$np" --oversubscribe --bind-to none "${extra[@]}" "$bin/distgru-train" "${base[@]}" \
    --checkpoint-dir "$dir" "$@"
}
last_step() { grep samples_per_sec "$1/metrics.jsonl" | tail -1 | grep -o '"step":[0-9]*' | sed 's/.*://'; }
now() { date +%s.%N; }
since() { awk -v a="$1" -v b="$(now)" 'BEGIN { printf "%.2f", b - a }'; }

# 1. SIGUSR1 to mpirun (it forwards USR1 to every rank) mid-run, then a
# second one while the ranks are stopping.
train 2 "$tmp/sig" -- --steps 400 --checkpoint-every 1000 >"$tmp/sig.out" 2>"$tmp/sig.err" &
job=$!
for _ in $(seq 600); do grep -q "step 5/" "$tmp/sig.err" 2>/dev/null && break; sleep 0.1; done
launcher=$(pgrep -f "^mpirun .*$tmp/sig" | head -1)
sent=$(now)
kill -USR1 "$launcher"; sleep 0.05; kill -USR1 "$launcher" 2>/dev/null || true
rc=0; wait "$job" || rc=$?
took=$(since "$sent")
echo "signal -> checkpointed exit: ${took} s (rc $rc)"
check "stop signal exits with status 75" test "$rc" -eq 75
stopped=$(sed -n 's/.*stopped by signal 10 at step \([0-9]*\).*/\1/p' "$tmp/sig.err" | head -1)
check "the stop was logged with its step (${stopped:-none})" test -n "$stopped"
check "a checkpoint of that step is whole" test -f "$tmp/sig/ckpt-$(printf %08d "${stopped:-0}").pt"
check "LATEST names it" grep -q "ckpt-$(printf %08d "${stopped:-0}").pt" "$tmp/sig/LATEST"
train 2 "$tmp/sig" -- --steps $((stopped + 5)) --resume auto >/dev/null 2>"$tmp/sig2.err"
check "resume continues from the signalled step" grep -q "resume: .* at step $stopped " "$tmp/sig2.err"
echo "signal-to-safe-checkpoint: ${took} s" >>"$tmp/figures"

# 2. kill -9 of rank 0 while it writes ckpt-8 (the write pauses half-way).
train 2 "$tmp/kill" -x DISTGRU_TEST_PAUSE_IN_WRITE=ckpt-00000008:30 -- --steps 12 --checkpoint-every 4 \
  >/dev/null 2>"$tmp/kill.err" &
job=$!
for _ in $(seq 600); do [[ -f "$tmp/kill/ckpt-00000008.pt.tmp" ]] && break; sleep 0.1; done
check "rank 0 is in the middle of writing ckpt-8" test -f "$tmp/kill/ckpt-00000008.pt.tmp"
# The rank holding the half-written file open is rank 0.
for pid in $(pgrep -f "^$bin/distgru-train .*$tmp/kill"); do
  ls -l "/proc/$pid/fd" 2>/dev/null | grep -q "ckpt-00000008.pt.tmp" && kill -9 "$pid"
done
rc=0; wait "$job" || rc=$?
check "the job died with rank 0 (rc $rc)" test "$rc" -ne 0
check "no ckpt-8 under its final name" test ! -f "$tmp/kill/ckpt-00000008.pt"
train 2 "$tmp/kill" -- --steps 12 --checkpoint-every 4 --resume auto >/dev/null 2>"$tmp/kill2.err"
check "resume after the crash uses ckpt-4" grep -q "resume: .*ckpt-00000004.pt at step 4 " "$tmp/kill2.err"
check "and finishes the run" test "$(last_step "$tmp/kill")" -eq 12

# 3. Corrupt the newest checkpoint (one byte), then resume.
printf '\x00' | dd of="$tmp/kill/ckpt-00000012.pt" bs=1 seek=5000 conv=notrunc status=none
train 2 "$tmp/kill" -- --steps 16 --checkpoint-every 4 --resume auto >/dev/null 2>"$tmp/corrupt.err"
check "the corrupted checkpoint is reported" grep -q "skipping unusable checkpoint .*ckpt-00000012.pt: checksum mismatch" "$tmp/corrupt.err"
check "and the previous one used" grep -q "resume: .*ckpt-00000008.pt at step 8 " "$tmp/corrupt.err"

# 4. A 2-rank checkpoint resumed on 3 ranks and on 1 rank, mid-epoch.
train 2 "$tmp/two" -- --steps 20 --checkpoint-every 10 >/dev/null 2>"$tmp/two.err"
cp -r "$tmp/two" "$tmp/three"; cp -r "$tmp/two" "$tmp/one"
for n in 3 1; do
  dir=$tmp/$([[ $n == 3 ]] && echo three || echo one)
  train "$n" "$dir" -- --steps 60 --checkpoint-every 10 --resume auto >"$dir.out" 2>"$dir.err" ||
    { tail -5 "$dir.err"; bad "resume on $n ranks failed"; continue; }
  check "2 -> $n ranks: resumed at step 20 on $n ranks" grep -q "checkpoint written by 2 ranks, continuing on $n" "$dir.err"
  check "2 -> $n ranks: ran to step 60 and scored the test set" grep -q "test accuracy" "$dir.out"
  first=$(grep -o '"loss":[0-9.e+-]*' "$tmp/two/metrics.jsonl" | head -3 | sed 's/.*://' | awk '{ s += $1 } END { print s / NR }')
  final=$(grep -o '"loss":[0-9.e+-]*' "$dir/metrics.jsonl" | grep -v nan | tail -5 | sed 's/.*://' | awk '{ s += $1 } END { print s / NR }')
  check "2 -> $n ranks: still converging (loss $first -> $final)" gt "$first" "$final"
done

# 5. A new run (no --resume) in a directory that holds a run is refused, and
# the directory is left as it was; so is a resume from one of its
# checkpoints that would leave later ones behind.
snap() { find "$1" -type f ! -name 'run.lock*' -exec md5sum {} + | sort | md5sum; }
before=$(snap "$tmp/sig")
rc=0; train 2 "$tmp/sig" -- --steps 3 >/dev/null 2>"$tmp/fresh.err" || rc=$?
check "a new run in a used directory is refused (exit $rc)" test "$rc" -eq 2
check "naming what the directory holds and --resume auto" \
  grep -q "already holds a run (ckpt-.*Pass --resume auto" "$tmp/fresh.err"
check "and leaves the directory as it was" test "$(snap "$tmp/sig")" == "$before"
before=$(snap "$tmp/two")
rc=0; train 2 "$tmp/two" -- --steps 30 --resume "$tmp/two/ckpt-00000010.pt" >/dev/null 2>"$tmp/older.err" || rc=$?
check "resuming an older checkpoint beside later ones is refused (exit $rc)" test "$rc" -eq 2
check "naming the later checkpoints" grep -q "holds checkpoints past step 10, where this run resumes (ckpt-00000020.pt" \
  "$tmp/older.err"
check "and leaves them" test "$(snap "$tmp/two")" == "$before"

# 6. Resumed with twice the global batch under --epochs: the steps so far
# ran at 32, the rest at 64. The total, the progress line and the
# learning-rate curve count both, so the cosine ends with the training
# (before, the run announced the wrong total and took its last epoch at lr 0).
train 2 "$tmp/batch" -- --epochs 1 --lr-schedule cosine >/dev/null 2>"$tmp/batch1.err"
first=$(last_step "$tmp/batch")
train 2 "$tmp/batch" -- --epochs 2 --batch-size 64 --lr-schedule cosine --resume auto >/dev/null 2>"$tmp/batch2.err"
final=$(last_step "$tmp/batch")
total=$(grep -o "epoch 2/2 step [0-9]*/[0-9]*" "$tmp/batch2.err" | tail -1 | sed 's|.*/||')
echo "batch 32 -> 64: steps 1-$first at 32, to $final at 64; announced $total"
check "batch change: the run ends at the total it announced ($final of ${total:-none})" test "$final" == "${total:-x}"
check "batch change: the second epoch took about half the steps of the first" \
  test $(( (final - first) * 2 - first )) -le 2 -a $(( (final - first) * 2 - first )) -ge -2
# The cosine reaches 0 at each run's last update (lr_schedule.h), and no sooner.
zero=$(grep samples_per_sec "$tmp/batch/metrics.jsonl" | grep -E '"lr":0(\.0+)?[,}]' |
  grep -cvE "\"step\":($first|$final)[,}]" || true)
check "batch change: no step at learning rate 0 but each run's last ($zero)" test "$zero" -eq 0

# 7. Ctrl-C: a terminal sends SIGINT to the launcher's whole process group.
# launch/train_local.sh turns it into a checkpointed stop (exit 75), and
# distgru-train alone does the same.
ctrl_c() {  # ctrl_c NAME COMMAND...: runs COMMAND as a process group leader, SIGINT to the group at step 5
  /usr/bin/python3 -c 'import os, signal, sys
signal.signal(signal.SIGINT, signal.SIG_DFL)  # background jobs of scripts start with SIGINT ignored
os.setpgid(0, 0)
os.execvp(sys.argv[1], sys.argv[1:])' "${@:2}" >"$tmp/$1.out" 2>"$tmp/$1.err" &
  local job=$!
  for _ in $(seq 600); do grep -q "step 5/" "$tmp/$1.err" 2>/dev/null && break; sleep 0.1; done
  kill -INT -- "-$job"
  rc=0; wait "$job" || rc=$?
}
ctrl_c ctrlc env DISTGRU_BIN="$bin" "$src/launch/train_local.sh" -n 2 -t 1 -- "${base[@]}" \
  --checkpoint-dir "$tmp/ctrlc" --steps 400 --checkpoint-every 1000
check "Ctrl-C on train_local.sh: exit 75 after a checkpoint (rc $rc)" test "$rc" -eq 75
# The launcher forwards the Ctrl-C as SIGUSR1 (10): the ranks, in mpirun's own session, get no SIGINT.
stopped=$(sed -n 's/.*stopped by signal 10 at step \([0-9]*\).*/\1/p' "$tmp/ctrlc.err" | head -1)
check "Ctrl-C on train_local.sh: the checkpoint of step ${stopped:-none} is whole" \
  test -f "$tmp/ctrlc/ckpt-$(printf %08d "${stopped:-0}").pt"
check "Ctrl-C on train_local.sh: no rank left running" test -z "$(pgrep -f "^$bin/distgru-train .*$tmp/ctrlc" || true)"
ctrl_c alone "$bin/distgru-train" "${base[@]}" --checkpoint-dir "$tmp/alone" --steps 400 --checkpoint-every 1000
stopped=$(sed -n 's/.*stopped by signal 2 at step \([0-9]*\).*/\1/p' "$tmp/alone.err" | head -1)
check "Ctrl-C on distgru-train alone: exit 75 (rc $rc) with the checkpoint of step ${stopped:-none}" \
  test "$rc" -eq 75 -a -f "$tmp/alone/ckpt-$(printf %08d "${stopped:-0}").pt"
cat "$tmp/figures"
finish
