#!/usr/bin/env bash
# Faults that used to loop for ever, or end with exit 0 and wrong or mixed
# results, each with the real executables: they must now end with a clear
# message naming what and where (README: "What distgru refuses, and why").
source "$(dirname "$0")/common.sh"

# expect_error "what" EXPECTED_CODE PATTERN command...: runs with a time bound.
expect_error() {
  local what=$1 code=$2 pattern=$3; shift 3
  local rc=0
  timeout -k 10 120 "$@" >"$tmp/out" 2>"$tmp/err" || rc=$?
  if [[ $rc == 124 || $rc == 137 ]]; then bad "$what: hung (killed after 120 s)"; return; fi
  if [[ $code == nonzero && $rc == 0 ]] || [[ $code != nonzero && $rc != "$code" ]]; then
    bad "$what: exit code $rc, expected $code"; sed 's/^/    /' "$tmp/err" | tail -5; return
  fi
  if grep -q -- "$pattern" "$tmp/err" "$tmp/out"; then ok "$what"; else
    bad "$what: output lacks '$pattern'"; sed 's/^/    /' "$tmp/err" | tail -5; fi
}
since() { awk -v a="$1" -v b="$(date +%s.%N)" 'BEGIN { printf "%.1f", b - a }'; }
train=("$bin/distgru-train" --config "$src/configs/tiny.ini")
one_rank=(mpirun -np 1 --oversubscribe --bind-to none)

prepare_small "$tmp/data" 1000 301
# The same vocabulary size from another subset of the training reviews: other words, other ids.
"$bin/distgru-prepare" --source "$archive" --out "$tmp/other" --shards 3 --vocab-size 5000 \
  --sentence-size 128 --max-train 700 --max-test 301 2>"$tmp/prepare2.log"

# 1. Non-finite values: refused or caught, never looped over, never written.
expect_error "--lr inf is refused, naming the key" 2 "\-\-lr must be positive and finite, not inf" \
  "${train[@]}" --data "$tmp/data" --steps 2 --lr inf
printf 'the 1 2 nan\n' >"$tmp/nan.vec"
expect_error "a word-vector file holding nan is refused, naming file and line" nonzero \
  "nan.vec:1: value 3 is 'nan', not a finite number" \
  "${train[@]}" --data "$tmp/data" --steps 2 --embed-dim 3 --glove "$tmp/nan.vec"
expect_error "a diverged model ends validation with a message (no endless loop)" 1 \
  "validation at step 1: 100 of 100 scores are NaN or infinite" \
  "${train[@]}" --data "$tmp/data" --checkpoint-dir "$tmp/nan" --steps 3 --lr 1e30 --eval-every 1 --checkpoint-every 1
check "no checkpoint of the diverged model was written" \
  test -z "$(ls "$tmp/nan" | grep -E '\.pt$' || true)"
diverged=$src/tests/train/data/diverged-step1.pt
expect_error "distgru-eval refuses a diverged checkpoint" nonzero "written after training diverged" \
  "${one_rank[@]}" "$bin/distgru-eval" --checkpoint "$diverged" --data "$tmp/data"
expect_error "distgru-predict refuses a diverged checkpoint" nonzero "written after training diverged" \
  "$bin/distgru-predict" --checkpoint "$diverged" --vocab "$tmp/data/vocab.txt" --text "a fine film"
# Resume skips a diverged checkpoint for the one before it.
"${train[@]}" --data "$tmp/data" --checkpoint-dir "$tmp/skip" --steps 2 --checkpoint-every 2 >/dev/null 2>&1
cp "$diverged" "$tmp/skip/ckpt-00000003.pt"; echo ckpt-00000003.pt >"$tmp/skip/LATEST"
expect_error "--resume auto skips a diverged checkpoint" 0 "skipping unusable checkpoint .*ckpt-00000003.pt: parameter" \
  "${train[@]}" --data "$tmp/data" --checkpoint-dir "$tmp/skip" --steps 4 --resume auto
check "and resumes from the one before" grep -q "resume: .*ckpt-00000002.pt at step 2" "$tmp/err"

# 2. Ranks started with different settings: refused before the first step,
# naming the rank, the key and both values.
expect_error "ranks with different --steps and --lr are refused" 2 "rank 1 has steps = 20 where rank 0 has steps = 40" \
  mpirun -np 1 "$bin/distgru-train" --config "$src/configs/tiny.ini" --data "$tmp/data" --steps 40 : \
         -np 1 "$bin/distgru-train" --config "$src/configs/tiny.ini" --data "$tmp/data" --steps 20 --lr 0.05
check "the learning rate is named too" grep -q "rank 1 has lr = 0.05 where rank 0 has lr = 0.003" "$tmp/err"
expect_error "ranks reading different data are refused" 2 "rank 1 has data fingerprint = " \
  mpirun -np 1 "$bin/distgru-train" --config "$src/configs/tiny.ini" --data "$tmp/data" --steps 4 : \
         -np 1 "$bin/distgru-train" --config "$src/configs/tiny.ini" --data "$tmp/other" --steps 4
expect_error "distgru-eval ranks scoring different splits are refused" 2 "rank 1 has split = train where rank 0 has split = test" \
  mpirun -np 1 "$bin/distgru-eval" --checkpoint "$tmp/skip" --data "$tmp/data" : \
         -np 1 "$bin/distgru-eval" --checkpoint "$tmp/skip" --data "$tmp/data" --split train

# 3. Two runs in one directory: the second is refused, naming the first.
"$bin/distgru-train" --config "$src/configs/tiny.ini" --data "$tmp/data" --checkpoint-dir "$tmp/shared" \
  --epochs 100 --log-every 1 >/dev/null 2>"$tmp/first.err" &
first=$!
for _ in $(seq 300); do grep -q "step 2/" "$tmp/first.err" 2>/dev/null && break; sleep 0.1; done
expect_error "a second run in a live run's directory is refused, naming its pid" 2 "is in use by another run (host .*, pid $first," \
  "${train[@]}" --data "$tmp/data" --checkpoint-dir "$tmp/shared" --steps 5 --seed 7
check "the first run goes on" kill -0 "$first"
kill -USR1 "$first"; wait "$first" || true
check "every metrics record names its run" bash -c "! grep -v '\"run\":\"[0-9a-f]\{16\}\"' '$tmp/shared/metrics.jsonl'"
expect_error "once the first run has ended, its directory can be resumed" 0 "resume: " \
  "${train[@]}" --data "$tmp/data" --checkpoint-dir "$tmp/shared" --epochs 100 --steps 8 --resume auto

# 4. Resume must not silently change what is trained and validated.
"${train[@]}" --data "$tmp/data" --checkpoint-dir "$tmp/split" --steps 4 --checkpoint-every 4 >/dev/null 2>&1
expect_error "resume with another --val-fraction is refused, naming it" 2 "val-fraction 0.1 vs 0.2" \
  "${train[@]}" --data "$tmp/data" --checkpoint-dir "$tmp/split" --steps 8 --val-fraction 0.2 --resume auto
check "and says how to go on anyway" grep -q "\-\-allow-data-change" "$tmp/err"
expect_error "--allow-data-change resumes anyway, with a warning" 0 "going on as --allow-data-change asks" \
  "${train[@]}" --data "$tmp/data" --checkpoint-dir "$tmp/split" --steps 8 --val-fraction 0.2 --resume auto --allow-data-change 1
expect_error "resume with another --batch-size says what becomes of the epoch" 0 \
  "written with global batch 32, continuing with 64; the rest of epoch 1 visits the samples not yet seen" \
  "${train[@]}" --data "$tmp/data" --checkpoint-dir "$tmp/split" --steps 10 --batch-size 64 --resume auto --allow-data-change 1 \
  --val-fraction 0.2
expect_error "a longer run under a cosine schedule says the curve bends" 0 "now lasts 14 steps instead of 10 under the cosine" \
  "${train[@]}" --data "$tmp/data" --checkpoint-dir "$tmp/split" --steps 14 --batch-size 64 --resume auto --allow-data-change 1 \
  --val-fraction 0.2 --lr-schedule cosine
expect_error "a checkpoint past --steps says so" 0 "already at or past the end" \
  "${train[@]}" --data "$tmp/data" --checkpoint-dir "$tmp/split" --steps 6 --batch-size 64 --resume auto --allow-data-change 1 \
  --val-fraction 0.2 --lr-schedule cosine

# 5. A model used with the wrong vocabulary.
expect_error "distgru-eval on data with another vocabulary is refused" 2 "was trained with the vocabulary .* but .*other/vocab.txt is" \
  "${one_rank[@]}" "$bin/distgru-eval" --checkpoint "$tmp/skip" --data "$tmp/other"
expect_error "distgru-predict with another vocab.txt is refused" 2 "was trained with the vocabulary" \
  "$bin/distgru-predict" --checkpoint "$tmp/skip" --vocab "$tmp/other/vocab.txt" --text "a fine film"
expect_error "resuming on data with another vocabulary is refused" 2 "its word ids mean other words" \
  "${train[@]}" --data "$tmp/other" --checkpoint-dir "$tmp/skip" --steps 6 --resume auto --allow-data-change 1

# 6. A stalled rank: the others name it, then the job ends within the deadline.
mpirun_np 2 "$bin/distgru-train" --config "$src/configs/tiny.ini" --data "$tmp/data" --checkpoint-dir "$tmp/stall" \
  --epochs 100 --log-every 1 --collective-timeout 6 --stall-warning 2 >"$tmp/stall.out" 2>"$tmp/stall.err" &
job=$!
for _ in $(seq 300); do grep -q "step 3/" "$tmp/stall.err" 2>/dev/null && break; sleep 0.1; done
victim=$(pgrep -f "^$bin/distgru-train .*$tmp/stall" | sort -n | tail -1 || true)
stopped=$(date +%s.%N)
kill -STOP "$victim" || true
for _ in $(seq 300); do kill -0 "$job" 2>/dev/null || break; sleep 0.1; done
took=$(since "$stopped")
rc=0; if kill -0 "$job" 2>/dev/null; then rc=hung; kill -9 "$job"; else wait "$job" || rc=$?; fi
kill -CONT "$victim" 2>/dev/null || true; kill -9 "$victim" 2>/dev/null || true
echo "a rank stopped with SIGSTOP: the job ended ${took} s later (rc $rc)"
check "the run was training when one of its ranks was stopped" grep -q "step 3/" "$tmp/stall.err"
check "the stall warning names the stopped rank" grep -qE "stall: (rank [01] \(.*\) .* not reached|.* no heartbeat from rank [01] )" "$tmp/stall.err"
check "the job ends with an error within --collective-timeout + 5 s" awk -v t="$took" -v rc="$rc" \
  'BEGIN { exit !(rc == 1 && t < 11) }'
check "the error names the collective and the deadline" grep -q "not completed within 6 s (--collective-timeout)" "$tmp/stall.err"

# 7. Prediction on awkward text: one result per line, valid JSON, line numbers.
printf 'A wonderful film, superb acting.\n\nTerrible, boring and far too long.\nCaf\xe9 scenes were lovely\n' >"$tmp/reviews.txt"
"$bin/distgru-predict" --checkpoint "$tmp/skip" --vocab "$tmp/data/vocab.txt" --file "$tmp/reviews.txt" --json \
  >"$tmp/pred.jsonl" 2>"$tmp/pred.err" || bad "predict --json failed"
check "one result per input line, each valid JSON with its line number" /usr/bin/python3 -c '
import json, sys
rows = [json.loads(l) for l in open(sys.argv[1])]
assert [r["line"] for r in rows] == [1, 2, 3, 4], rows
assert "error" in rows[1] and "empty" in rows[1]["error"], rows[1]
assert all("probability" in r for r in rows if r["line"] != 2)
' "$tmp/pred.jsonl"
check "the invalid UTF-8 line is named on stderr" grep -q "reviews.txt:4: not valid UTF-8 at byte 4" "$tmp/pred.err"
expect_error "--text \"\" says there is nothing to classify" 2 "\-\-text has no words to classify" \
  "$bin/distgru-predict" --checkpoint "$tmp/skip" --vocab "$tmp/data/vocab.txt" --text ""

# 8. A stop signal during an evaluation ends the job within a bounded time,
# and the resumed run does that validation first. (2,700 validation reviews
# scored one at a time: the validation lasts long enough to be interrupted.)
prepare_small "$tmp/big" 3000 100
"$bin/distgru-train" --config "$src/configs/tiny.ini" --data "$tmp/big" --checkpoint-dir "$tmp/evalstop" --steps 20 \
  --eval-every 4 --val-fraction 0.9 --eval-batch-size 1 --log-every 1 >"$tmp/evalstop.out" 2>"$tmp/evalstop.err" &
job=$!
for _ in $(seq 300); do grep -q "step 4/" "$tmp/evalstop.err" 2>/dev/null && break; sleep 0.05; done
sent=$(date +%s.%N)
kill -USR1 "$job"
rc=0; wait "$job" || rc=$?
echo "SIGUSR1 during a validation: the run ended $(since "$sent") s later (rc $rc)"
check "a signal during validation stops the run with status 75" test "$rc" -eq 75
check "at the step of that validation" grep -q "stopped by signal 10 at step 4" "$tmp/evalstop.err"
expect_error "the resumed run validates that step first" 0 "validation at step 4: accuracy" \
  "${train[@]}" --data "$tmp/big" --checkpoint-dir "$tmp/evalstop" --steps 6 --eval-every 4 --val-fraction 0.9 --resume auto

# 9. Smaller: HDF5 cannot lock a shard (another process holds it): the hint.
flock -x "$tmp/data/test-00000-of-00001.h5" sleep 30 &
holder=$!
sleep 0.5
expect_error "a shard HDF5 cannot lock names HDF5_USE_FILE_LOCKING" nonzero "HDF5_USE_FILE_LOCKING=FALSE" \
  "${one_rank[@]}" "$bin/distgru-eval" --checkpoint "$tmp/skip" --data "$tmp/data" --verify-checksums 0
kill "$holder" 2>/dev/null || true

finish
