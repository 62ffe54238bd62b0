#!/usr/bin/env bash
# Bad input gets a clear error that names the file and the problem, a non-zero
# exit, no hang, and nothing already written is lost.
source "$(dirname "$0")/common.sh"

# expect_error "what" EXPECTED_CODE PATTERN command...: runs with a time bound.
expect_error() {
  local what=$1 code=$2 pattern=$3; shift 3
  local rc=0
  timeout 120 "$@" >"$tmp/out" 2>"$tmp/err" || rc=$?
  if [[ $rc == 124 ]]; then bad "$what: hung (killed after 120 s)"; return; fi
  if [[ $code == nonzero && $rc == 0 ]] || [[ $code != nonzero && $rc != "$code" ]]; then
    bad "$what: exit code $rc, expected $code"; sed 's/^/    /' "$tmp/err" | tail -5; return
  fi
  if grep -q -- "$pattern" "$tmp/err" "$tmp/out"; then ok "$what"; else
    bad "$what: output lacks '$pattern'"; sed 's/^/    /' "$tmp/err" | tail -5; fi
}

for tool in prepare train eval predict; do
  "$bin/distgru-$tool" --help >"$tmp/help" 2>&1 && grep -q -- "--" "$tmp/help" &&
    ok "distgru-$tool --help" || bad "distgru-$tool --help"
  expect_error "distgru-$tool rejects an unknown flag" 2 "no-such-flag" "$bin/distgru-$tool" --no-such-flag
done
check "train --help shows defaults" grep -q "batch-size arg (=128)" <("$bin/distgru-train" --help)

# Archives.
mkdir -p "$tmp/empty/aclImdb" && echo "readme" >"$tmp/empty/aclImdb/README"
tar -C "$tmp/empty" -czf "$tmp/empty.tar.gz" aclImdb
expect_error "archive with no reviews" 1 "empty.tar.gz: no reviews" \
  "$bin/distgru-prepare" --source "$tmp/empty.tar.gz" --out "$tmp/never"
check "a failed prepare leaves no output directory" test ! -e "$tmp/never/manifest.json"
echo "not gzip" >"$tmp/corrupt.tar.gz"
expect_error "corrupt archive" 1 "corrupt.tar.gz" "$bin/distgru-prepare" --source "$tmp/corrupt.tar.gz" --out "$tmp/never"
expect_error "missing source" 2 "/nonexistent/aclImdb.tar.gz: no such file" \
  "$bin/distgru-prepare" --source /nonexistent/aclImdb.tar.gz --out "$tmp/never"

# A good dataset and a short run whose files must survive later failures.
prepare_small "$tmp/data" 600 200
train=(mpirun -np 2 --oversubscribe --bind-to none "$bin/distgru-train" --config "$src/configs/tiny.ini"
       --checkpoint-every 5)
"${train[@]}" --data "$tmp/data" --checkpoint-dir "$tmp/run" --steps 10 >/dev/null 2>"$tmp/first.err" ||
  { cat "$tmp/first.err"; bad "short training run"; }
snapshot() { (cd "$tmp/run" && sha256sum ckpt-*.pt best.pt LATEST test_metrics.json); }
snapshot >"$tmp/before.sums"

expect_error "shard disagrees with the config" nonzero "vocab_size is 5000 but the config says 6000" \
  "${train[@]}" --data "$tmp/data" --checkpoint-dir "$tmp/run" --steps 20 --vocab-size 6000
expect_error "checkpoint of another model is refused on resume" nonzero "hidden-size 32 vs 48" \
  "${train[@]}" --data "$tmp/data" --checkpoint-dir "$tmp/run" --steps 20 --resume auto --hidden-size 48
expect_error "a start-up deadline that is not a number of seconds" 1 "DISTGRU_STARTUP_TIMEOUT=soon: not a number" \
  env DISTGRU_STARTUP_TIMEOUT=soon "$bin/distgru-train" --help
expect_error "unreadable config file" 2 "/nonexistent.ini: cannot open" \
  mpirun -np 2 --oversubscribe "$bin/distgru-train" --config /nonexistent.ini --data "$tmp/data"
expect_error "misspelt key in a config file" 2 "bad.ini" \
  bash -c "printf 'hiden-size = 3\n' >'$tmp/bad.ini' && mpirun -np 2 --oversubscribe '$bin/distgru-train' --config '$tmp/bad.ini' --data '$tmp/data'"

cp -r "$tmp/data" "$tmp/missing" && rm "$tmp/missing/train-00001-of-00003.h5"
expect_error "missing shard" nonzero "train-00001-of-00003.h5: missing" \
  "${train[@]}" --data "$tmp/missing" --checkpoint-dir "$tmp/run" --steps 20 --resume auto
cp -r "$tmp/data" "$tmp/truncated" && truncate -s 2000 "$tmp/truncated/train-00002-of-00003.h5"
expect_error "truncated shard" nonzero "train-00002-of-00003.h5" \
  "${train[@]}" --data "$tmp/truncated" --checkpoint-dir "$tmp/run" --steps 20 --resume auto
expect_error "no data directory" nonzero "/nonexistent/data/manifest.json" \
  "${train[@]}" --data /nonexistent/data --checkpoint-dir "$tmp/run"

cp "$tmp/run/best.pt" "$tmp/cut.pt" && truncate -s 5000 "$tmp/cut.pt"
expect_error "truncated checkpoint" nonzero "cut.pt: not a readable checkpoint: truncated" \
  "${train[@]}" --data "$tmp/data" --checkpoint-dir "$tmp/other" --steps 20 --resume "$tmp/cut.pt"
expect_error "eval of an empty checkpoint directory" nonzero "holds no checkpoint" \
  mpirun -np 1 "$bin/distgru-eval" --checkpoint "$tmp/data" --data "$tmp/data"
expect_error "predict needs text" 2 "exactly one of --text, --file or --data" \
  "$bin/distgru-predict" --checkpoint "$tmp/run" --vocab "$tmp/data/vocab.txt"
expect_error "predict with a missing vocabulary" 1 "/nonexistent/vocab.txt" \
  "$bin/distgru-predict" --checkpoint "$tmp/run" --vocab /nonexistent/vocab.txt --text "good"
expect_error "predict refuses a split it has no files for" 2 "--split must be test or train, not 'validation'" \
  "$bin/distgru-predict" --checkpoint "$tmp/run" --data "$tmp/data" --sample 3 --html "$tmp/never.html" --split validation
expect_error "predict refuses a negative --top" 2 "--top must be 0 or more, not -1" \
  "$bin/distgru-predict" --checkpoint "$tmp/run" --vocab "$tmp/data/vocab.txt" --text "good" --top -1

check "nothing already written was lost or changed" diff <(snapshot) "$tmp/before.sums"
finish
