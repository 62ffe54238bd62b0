#!/usr/bin/env bash
# data/pretrain_vectors.sh on a small real subset: fastText's skipgram on the
# training reviews less the validation tail (never the test split), a .vec
# with its header and a JSON record of its SHA-256, which distgru-train
# loads (format and coverage logged); a truncated .vec is refused naming it.
# Written into the data directory by default, where `--glove data` (the
# README config's setting) finds it, checks its SHA-256 and, when it is
# missing or changed, refuses naming the file and the command that makes it.
#   tests/cli/pretrain_vectors_test.sh <bin dir> <imdb archive> <source dir>
source "$(dirname "$0")/common.sh"
set +e  # each outcome is judged by check; the truncated file must fail
command -v fasttext >/dev/null || { echo "SKIP: fasttext not installed (apt-get install fasttext)"; exit 77; }
prepare_small "$tmp/data" 1000 200
"$src/data/pretrain_vectors.sh" "$tmp/data" "$tmp/words.vec" --dim 32 --epoch 1 --threads 2 >"$tmp/pre.log" 2>&1
check "the script ran" grep -q "pretrain_vectors: $tmp/words.vec" "$tmp/pre.log" || cat "$tmp/pre.log"
# --val-fraction 0.1 of 1000 training reviews: the trainer's validation tail.
check "the 100 validation reviews left out of the corpus" grep -q "900 of 1000 train reviews (rows 0..899; 100 validation reviews at the end of the training split)" "$tmp/pre.log"
read -r n d <<<"$(head -1 "$tmp/words.vec")"
check "fastText's header: $n vectors of $d" test "$d" == 32 -a "$n" -gt 1000 -a "$(( $(wc -l <"$tmp/words.vec") - 1 ))" == "$n"
check "the record holds the file's SHA-256" grep -q "\"vectors_sha256\": \"$(sha256sum "$tmp/words.vec" | cut -d' ' -f1)\"" "$tmp/words.json"
check "no .bin left" test ! -e "$tmp/words.bin"

train() {  # VEC DIR [RANKS]
  mpirun_np "${3:-1}" "$bin/distgru-train" --config "$src/configs/tiny.ini" --data "$tmp/data" --checkpoint-dir "$2" \
    --glove "$1" --steps 2 --threads 1 >"$2.log" 2>&1
}
train "$tmp/words.vec" "$tmp/run"
check "distgru-train trained with them" grep -q "trained 2 steps" "$tmp/run.log"
check "and logged the format and coverage: $(grep -o 'word vectors: .*' "$tmp/run.log" | cut -c1-160)" \
  grep -qE "word vectors: .*words.vec \(fastText .vec\): $n vectors read; [0-9]+ of the 5000 vocabulary ids" "$tmp/run.log"
head -n 5 "$tmp/words.vec" >"$tmp/cut.vec"  # the header promises more than follow
train "$tmp/cut.vec" "$tmp/run_cut"
check "a truncated .vec is refused naming it" grep -q "cut.vec: the header promises $n vectors but 4 follow" "$tmp/run_cut.log"

# The default place, in the data directory, and --glove data (2 ranks: rank 0
# reads the file, and its refusal ends both ranks).
"$src/data/pretrain_vectors.sh" "$tmp/data" --dim 32 --epoch 1 --threads 2 >"$tmp/pre2.log" 2>&1
check "written to the data directory with its record" \
  test -s "$tmp/data/word_vectors.vec" -a -s "$tmp/data/word_vectors.json"
train data "$tmp/run_data" 2
check "--glove data loads them" grep -qE "word vectors: $tmp/data/word_vectors.vec \(fastText .vec\)" "$tmp/run_data.log"
check "and trains" grep -q "trained 2 steps" "$tmp/run_data.log"
cp "$tmp/data/word_vectors.vec" "$tmp/saved.vec"
sed -i '2s/^\([^ ]*\) -\{0,1\}[0-9]/\1 9/' "$tmp/data/word_vectors.vec"  # one value of the first vector changed
train data "$tmp/run_changed" 2
check "a changed word_vectors.vec is refused naming it and the recorded SHA-256" \
  grep -q "word_vectors.vec: SHA-256 [0-9a-f]* but $tmp/data/word_vectors.json records" "$tmp/run_changed.log"
check "and no step was trained" bash -c "! grep -q 'trained 2 steps' '$tmp/run_changed.log'"
rm "$tmp/data/word_vectors.vec"
train data "$tmp/run_missing" 2
check "a missing one names the command that makes it" \
  grep -q "word_vectors.vec does not exist; make it from the training reviews with \`data/pretrain_vectors.sh $tmp/data\`" \
  "$tmp/run_missing.log"
train none "$tmp/run_none" 1
check "--glove none starts from random vectors" bash -c "grep -q 'trained 2 steps' '$tmp/run_none.log' && ! grep -q 'word vectors:' '$tmp/run_none.log'"
finish
