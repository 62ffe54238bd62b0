#!/usr/bin/env bash
# Real reviews -> HDF5 shards -> 2 MPI ranks -> checkpoints, metrics, test
# accuracy and AUC; then distgru-eval, distgru-predict and a resume.
source "$(dirname "$0")/common.sh"

prepare_small "$tmp/data" 3000 1000
check "prepare wrote manifest, vocab and shards" test -f "$tmp/data/manifest.json" -a -f "$tmp/data/vocab.txt" \
  -a -f "$tmp/data/train-00002-of-00003.h5" -a -f "$tmp/data/test-00000-of-00001.h5"

mpirun_np 2 "$bin/distgru-train" --config "$src/configs/tiny.ini" --data "$tmp/data" \
  --checkpoint-dir "$tmp/run" --epochs 3 --checkpoint-every 40 >"$tmp/train.out" 2>"$tmp/train.err" ||
  { cat "$tmp/train.err"; bad "training exited non-zero"; finish; }
cat "$tmp/train.out"
check "training printed test accuracy and auc" contains "$tmp/train.out" "test accuracy .* auc"
acc=$(json_number accuracy "$tmp/run/test_metrics.json")
auc=$(json_number auc "$tmp/run/test_metrics.json")
echo "test accuracy $acc auc $auc"
check "the model learns: test accuracy $acc > 0.70" gt "$acc" 0.70
check "the model ranks: test auc $auc > 0.78" gt "$auc" 0.78
check "progress lines carry samples/s and ETA" contains "$tmp/train.err" "samples/s ETA"
check "metrics.jsonl has step records" contains "$tmp/run/metrics.jsonl" '"samples_per_sec"'
check "metrics.jsonl has validation records" contains "$tmp/run/metrics.jsonl" '"split":"validation"'
check "best.pt and LATEST written" test -f "$tmp/run/best.pt" -a -f "$tmp/run/LATEST"
check "only the last 3 step checkpoints kept" test "$(ls "$tmp/run"/ckpt-*.pt | wc -l)" -le 3
check "no temporary files left" test -z "$(ls "$tmp/run" | grep '\.tmp$' || true)"

# distgru-eval on the same checkpoint must agree with the trainer's figure.
mpirun_np 2 "$bin/distgru-eval" --checkpoint "$tmp/run" --data "$tmp/data" \
  --predictions "$tmp/pred.csv" --output "$tmp/eval.json" >"$tmp/eval.out" 2>"$tmp/eval.err"
cat "$tmp/eval.out"
eval_acc=$(json_number accuracy "$tmp/eval.json")
check "distgru-eval agrees with training ($eval_acc vs $acc)" awk -v a="$eval_acc" -v b="$acc" 'BEGIN { exit !((a - b) < 1e-9 && (b - a) < 1e-9) }'
check "eval prints precision, recall, f1 and confusion" contains "$tmp/eval.out" "f1 .*"
csv_acc=$(awk -F, 'NR > 1 { n++; c += ($3 == $4) } END { printf "%.6f", c / n }' "$tmp/pred.csv")
check "accuracy recomputed from predictions.csv ($csv_acc)" awk -v a="$csv_acc" -v b="$eval_acc" 'BEGIN { d = a - b; exit !(d < 1e-6 && d > -1e-6) }'
check "predictions.csv has one row per test review" test "$(($(wc -l <"$tmp/pred.csv") - 1))" -eq 1000

# distgru-predict: class, probability and a weight per token.
"$bin/distgru-predict" --checkpoint "$tmp/run" --vocab "$tmp/data/vocab.txt" \
  --text "A wonderful, moving film. The acting was superb and I loved every minute." >"$tmp/predict.out"
cat "$tmp/predict.out"
check "predict prints class and probability" contains "$tmp/predict.out" "prediction: \(positive\|negative\)  probability"
check "predict shows attention per token" contains "$tmp/predict.out" "attention: <start>:.* wonderful:"
"$bin/distgru-predict" --checkpoint "$tmp/run" --vocab "$tmp/data/vocab.txt" --json \
  --text "Dreadful. Boring plot, awful acting, a waste of time." >"$tmp/predict.json"
weights=$(grep -o '"attention":[0-9.eE+-]*' "$tmp/predict.json" | sed 's/.*://' | awk '{ s += $1 } END { printf "%.6f", s }')
check "attention weights sum to 1 ($weights)" awk -v s="$weights" 'BEGIN { exit !(s > 0.99999 && s < 1.00001) }'

# Resume: one more epoch continues from the last checkpoint, not from scratch.
# The last training-step record (evaluation records carry the best step).
# As a tuning run (--score-test false): no test figure is printed, logged or
# written, and the first run's test_metrics.json stays as it was.
steps_before=$(grep samples_per_sec "$tmp/run/metrics.jsonl" | tail -1 | grep -o '"step":[0-9]*' | sed 's/.*://')
test_records=$(grep -c '"split":"test"' "$tmp/run/metrics.jsonl")
test_json=$(sha256sum <"$tmp/run/test_metrics.json")
mpirun_np 2 "$bin/distgru-train" --config "$src/configs/tiny.ini" --data "$tmp/data" \
  --checkpoint-dir "$tmp/run" --epochs 4 --resume auto --score-test false >"$tmp/resume.out" 2>"$tmp/resume.err"
cat "$tmp/resume.out"
check "resume starts from the newest checkpoint" contains "$tmp/resume.err" "resume: .*ckpt-0*$steps_before.pt at step $steps_before"
check "resumed run trains only the remaining epoch" contains "$tmp/resume.out" "trained $((steps_before / 3)) steps"
check "--score-test false: the run validated" contains "$tmp/resume.err" "validation at step"
check "--score-test false: no test figure printed or logged" not_contains "$tmp/resume.out" "test accuracy"
check "--score-test false: says the test set was not scored" contains "$tmp/resume.err" "test set not scored"
check "--score-test false: no test record added to metrics.jsonl" \
  test "$(grep -c '"split":"test"' "$tmp/run/metrics.jsonl")" -eq "$test_records"
check "--score-test false: test_metrics.json untouched" test "$(sha256sum <"$tmp/run/test_metrics.json")" = "$test_json"
check "--score-test false: says the earlier test_metrics.json is not of this run's best" \
  contains "$tmp/resume.err" "test_metrics.json is from an earlier test scoring"
# distgru-report on a tuning run's best.pt scores the test set for its ROC
# curve, which the run never did, and says so; on the first run's (scored at
# its end) it does not.
mpirun_np 2 "$bin/distgru-train" --config "$src/configs/tiny.ini" --data "$tmp/data" \
  --checkpoint-dir "$tmp/tuning" --epochs 1 --score-test false >/dev/null 2>"$tmp/tuning.err" ||
  { cat "$tmp/tuning.err"; bad "the tuning run failed"; }
for run in tuning run; do
  "$bin/distgru-report" --checkpoint-dir "$tmp/$run" --format svg >"$tmp/report.out" 2>"$tmp/report_$run.err" ||
    { cat "$tmp/report_$run.err"; bad "distgru-report on $run failed"; }
done
check "report on a --score-test false run's best.pt says it reads the test scores" \
  contains "$tmp/report_tuning.err" "trained with --score-test false"
check "report on a scored run's best.pt does not" not_contains "$tmp/report_run.err" "trained with --score-test false"
finish
