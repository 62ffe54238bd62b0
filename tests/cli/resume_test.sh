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
cat "$tmp/figures"
finish
