#!/usr/bin/env bash
# The quality bench (not a test): distgru's classifier against Debian's
# fastText, a linear bag-of-n-grams classifier (Joulin et al., EACL 2017), on
# exactly the reviews distgru trains and is tested on: the prepared shards'
# words (data/export_text.py: the same tokens, vocabulary and truncation; the
# validation tail left out of training as distgru leaves it out), each model's
# test accuracy and ROC AUC on the 25,000 test reviews (fastText's
# probabilities from `predict-prob`), its wall time and the cores it used.
#
#   bench/quality.sh --data DIR [--out FILE.json] [--ranks N] [--row "NAME=distgru-train flags"]... [--no-distgru]
#                    [--config FILE.ini (the README config)]
#
# Rows: fastText unigrams and bigrams (`fasttext supervised -wordNgrams 1|2
# -epoch 10 -lr 0.5 -dim 50`, no tuning, every core), then the README run
# (configs/imdb_bigru_attention.ini on N ranks, 2 by default; its word
# vectors made first when the config asks for them and the data directory has
# none, their time shown apart and added to the wall time), then one distgru
# run per --row with those flags added to the README config (each run's log
# kept beside the JSON as FILE-runN.log). Every figure is
# a TEST score: list each one read in the closing note (README "Honest
# figures"). About 10 minutes on 2 cores with one --row (+ 5 for the vectors, once).
set -euo pipefail

here=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
root=$(dirname "$here")
data="" out="" ranks=2 distgru=1 config=$root/configs/imdb_bigru_attention.ini
rows=()
while [[ $# -gt 0 ]]; do
  case "$1" in
    --data) data=$2; shift 2 ;;
    --out) out=$2; shift 2 ;;
    --ranks) ranks=$2; shift 2 ;;
    --row) rows+=("$2"); shift 2 ;;
    --no-distgru) distgru=0; shift ;;
    --config) config=$(realpath "$2"); shift 2 ;;
    -h|--help) sed -n '2,21p' "$0" | sed 's/^# \{0,1\}//'; exit 0 ;;
    *) echo "bench/quality.sh: unknown option $1" >&2; exit 2 ;;
  esac
done
[[ -n $data && -f $data/manifest.json ]] || { echo "bench/quality.sh: --data DIR (a distgru-prepare directory) is required" >&2; exit 2; }
command -v fasttext >/dev/null || { echo "bench/quality.sh: fasttext not installed (apt-get install fasttext)" >&2; exit 1; }
for r in "${rows[@]}"; do [[ $r == *=* ]] || { echo "bench/quality.sh: --row wants \"NAME=flags\", got '$r'" >&2; exit 2; }; done
cores=$(env -u OMP_NUM_THREADS -u OMP_THREAD_LIMIT nproc)
data=$(cd "$data" && pwd)
work=$(mktemp -d /tmp/distgru_quality.XXXXXX)
trap 'rm -rf "$work"' EXIT
out=${out:-$root/build/quality-$(date +%Y%m%d-%H%M%S).json}
val_fraction=$(sed -n 's/^val-fraction *= *//p' "$config")
val_fraction=${val_fraction:-0.1}  # distgru-train's default
results=$work/rows.jsonl
: >"$results"

row() {  # NAME ACC AUC SECONDS CORES [NOTE]
  printf '{"name": "%s", "accuracy": %s, "auc": %s, "wall_seconds": %s, "cores": %s, "note": "%s"}\n' \
    "$1" "$2" "$3" "$4" "$5" "${6:-}" >>"$results"
  printf 'quality: %-44s test accuracy %s  AUC %s  %s s on %s cores\n' "$1" "$2" "$3" "$4" "$5" >&2
}

# fastText on the shards' text.
for part in train test; do
  /usr/bin/python3 "$root/data/export_text.py" "$data" "$part" "$work/$part.txt" --labels --oov '<oov>' \
    --val-fraction "$val_fraction"
done
for n in 1 2; do
  start=$(date +%s.%N)
  fasttext supervised -input "$work/train.txt" -output "$work/ft$n" -wordNgrams "$n" -epoch 10 -lr 0.5 -dim 50 \
    -thread "$cores" -verbose 0
  fasttext predict-prob "$work/ft$n.bin" "$work/test.txt" 2 >"$work/ft$n.prob"
  seconds=$(awk -v a="$(date +%s.%N)" -v b="$start" "BEGIN { print a - b }")
  read -r acc auc < <(/usr/bin/python3 - "$work/test.txt" "$work/ft$n.prob" <<'PY'
import sys
labels = [int(line.split(" ", 1)[0][len("__label__"):]) for line in open(sys.argv[1])]
p1 = []
for line in open(sys.argv[2]):
    f = line.split()
    probs = {f[i]: float(f[i + 1]) for i in range(0, len(f), 2)}
    p1.append(probs.get("__label__1", 1.0 - probs.get("__label__0", 0.0)))
assert len(p1) == len(labels), f"{len(p1)} probabilities for {len(labels)} reviews"
acc = sum((p >= 0.5) == (y == 1) for p, y in zip(p1, labels)) / len(labels)
# ROC AUC as the Mann-Whitney statistic, ties counted half (Hanley & McNeil 1982).
order = sorted(range(len(p1)), key=lambda i: p1[i])
ranks = [0.0] * len(p1)
i = 0
while i < len(order):
    j = i
    while j + 1 < len(order) and p1[order[j + 1]] == p1[order[i]]:
        j += 1
    for k in range(i, j + 1):
        ranks[order[k]] = (i + j) / 2 + 1
    i = j + 1
pos = sum(labels)
neg = len(labels) - pos
auc = (sum(r for r, y in zip(ranks, labels) if y == 1) - pos * (pos + 1) / 2) / (pos * neg)
print(f"{acc:.4f} {auc:.4f}")
PY
)
  row "fastText $( ((n == 1)) && echo unigrams || echo bigrams) (wordNgrams $n)" "$acc" "$auc" "$(printf %.0f "$seconds")" "$cores"
done

distgru_run() {  # NAME FLAGS...
  local name=$1; shift
  local dir=$work/run$((++runs)) vec_seconds=0 note=""
  if grep -qE '^glove *= *data' "$config" && [[ " $* " != *" --glove "* && ! -f $data/word_vectors.vec ]]; then
    local t0=$(date +%s)
    "$root/data/pretrain_vectors.sh" "$data" --threads 1 >&2  # as the quickstart: the same file every time
    vec_seconds=$(( $(date +%s) - t0 ))
    note="word vectors made in $vec_seconds s"
  fi
  local t0=$(date +%s.%N)
  "$root/launch/train_local.sh" -n "$ranks" -- --config "$config" --data "$data" --checkpoint-dir "$dir" "$@" \
    >"$dir.log" 2>&1 || { cp "$dir.log" "${out%.json}-run$runs.log"; tail -20 "$dir.log" >&2
                           echo "bench/quality.sh: distgru run '$name' failed (log: ${out%.json}-run$runs.log)" >&2; exit 1; }
  local seconds=$(awk -v a="$(date +%s.%N)" -v b="$t0" -v v="$vec_seconds" "BEGIN { print a - b + v }")
  cp "$dir.log" "${out%.json}-run$runs.log"  # the run's validation lines, kept beside the table
  read -r acc auc < <(/usr/bin/python3 -c 'import json, sys; m = json.load(open(sys.argv[1])); print("%.4f %.4f" % (m["accuracy"], m["auc"]))' "$dir/test_metrics.json")
  # launch/train_local.sh fits ranks x threads to every core.
  row "$name" "$acc" "$auc" "$(printf %.0f "$seconds")" "$cores" "$ranks ranks x $((cores / ranks)) threads${note:+; $note}"
}
runs=0
if (( distgru )); then
  distgru_run "distgru, $( [[ $config == */imdb_bigru_attention.ini ]] && echo "README run" || basename "$config")"
  for r in "${rows[@]}"; do
    # shellcheck disable=SC2086  # the flags are words
    distgru_run "distgru, ${r%%=*}" ${r#*=}
  done
fi

cpu=$(lscpu | sed -n 's/^Model name: *//p' | head -1)
/usr/bin/python3 - "$results" "$out" "$cpu" "$(git -C "$root" rev-parse --short HEAD)" "$(wc -l <"$work/test.txt")" "$data" <<'PY'
import json, sys
rows = [json.loads(line) for line in open(sys.argv[1])]
json.dump({"cpu": sys.argv[3], "commit": sys.argv[4], "test_reviews": int(sys.argv[5]), "data": sys.argv[6],
           "rows": rows}, open(sys.argv[2], "w"), indent=2)
print(f"\nQuality on the {int(sys.argv[5]):,} test reviews of {sys.argv[6]} ({sys.argv[3]}, commit {sys.argv[4]}):\n")
print("| model | test accuracy | test AUC | wall time | cores |")
print("|---|---|---|---|---|")
for r in rows:
    note = f" ({r['note']})" if r["note"] else ""
    print(f"| {r['name']} | {r['accuracy']:.4f} | {r['auc']:.4f} | {r['wall_seconds']} s{note} | {r['cores']} |")
print(f"\n{sys.argv[2]}")
PY
