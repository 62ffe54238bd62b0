#!/usr/bin/env bash
# Word vectors learned from the training reviews alone, the offline stand-in
# for the tutorial's GloVe 6B vectors (which users with internet can still
# pass to --glove): the tokenised training reviews of a distgru-prepare
# directory, minus the validation tail the trainer holds out and never the
# test split, written out as text and given to Debian's fastText
# (`fasttext skipgram`, Bojanowski et al., TACL 2017). Writes OUT.vec, which
# `distgru-train --glove OUT.vec` loads (the loader reads fastText's header),
# and OUT.json: its SHA-256, the data it came from and the settings. OUT
# defaults to DATA_DIR/word_vectors, which `--glove data` (the README
# config's setting) loads after checking that SHA-256.
#
#   data/pretrain_vectors.sh DATA_DIR [OUT.vec] [--dim 100] [--epoch 5] [--val-fraction 0.1] [--threads N]
#
# Needs `fasttext` (apt-get install fasttext) and /usr/bin/python3 with h5py.
set -euo pipefail
usage() { sed -n '2,15p' "$0" | sed 's/^# \{0,1\}//'; }
[[ $# -ge 1 && $1 != -h && $1 != --help ]] || { usage; [[ ${1:-} == -h || ${1:-} == --help ]]; exit $?; }
data=$1; shift
out=$data/word_vectors.vec
if [[ $# -gt 0 && $1 != --* ]]; then out=$1; shift; fi
dim=100 epoch=5 val_fraction=0.1
threads=$(env -u OMP_NUM_THREADS -u OMP_THREAD_LIMIT nproc)
while [[ $# -gt 0 ]]; do
  case "$1" in
    --dim) dim=$2; shift 2 ;;
    --epoch) epoch=$2; shift 2 ;;
    --val-fraction) val_fraction=$2; shift 2 ;;
    --threads) threads=$2; shift 2 ;;
    *) echo "pretrain_vectors.sh: unknown option $1" >&2; exit 2 ;;
  esac
done
[[ $out == *.vec ]] || { echo "pretrain_vectors.sh: OUT must end in .vec (fastText adds it)" >&2; exit 2; }
[[ -f $data/manifest.json && -f $data/vocab.txt ]] ||
  { echo "pretrain_vectors.sh: $data is not a distgru-prepare directory (no manifest.json, vocab.txt)" >&2; exit 2; }
command -v fasttext >/dev/null || { echo "pretrain_vectors.sh: fasttext not installed (apt-get install fasttext)" >&2; exit 1; }
corpus=$(mktemp /tmp/distgru_corpus.XXXXXX)
trap 'rm -f "$corpus" "$corpus.log"' EXIT

# The training split less the validation tail the trainer holds out, in
# shard order, the words as the shards hold them (data/export_text.py).
/usr/bin/python3 "$(dirname "$0")/export_text.py" "$data" train "$corpus" --val-fraction "$val_fraction" 2>"$corpus.log" ||
  { cat "$corpus.log" >&2; exit 1; }
sed 's/^export_text: train: /pretrain_vectors: /' "$corpus.log" >&2
start=$(date +%s)
fasttext skipgram -input "$corpus" -output "${out%.vec}" -dim "$dim" -epoch "$epoch" -minCount 1 \
  -thread "$threads" -verbose 1  # more than one thread: lock-free updates, not bit-reproducible
rm -f "${out%.vec}.bin"
sha=$(sha256sum "$out" | cut -d' ' -f1)
/usr/bin/python3 - "${out%.vec}.json" "$sha" "$data" "$dim" "$epoch" "$val_fraction" "$(( $(date +%s) - start ))" <<'PY'
import json, os, sys
path, sha, data, dim, epoch, val_fraction, seconds = sys.argv[1:]
manifest = os.path.join(data, "manifest.json")
json.dump({"vectors_sha256": sha, "data": os.path.realpath(data),
           "train_shards": [e["sha256"] for e in json.load(open(manifest))["files"] if e["split"] == "train"],
           "method": "fasttext skipgram", "dim": int(dim), "epoch": int(epoch), "min_count": 1,
           "val_fraction_left_out": float(val_fraction), "seconds": int(seconds)},
          open(path, "w"), indent=2, sort_keys=True)
PY
echo "pretrain_vectors: $out ($(head -1 "$out")), sha256 $sha, $(( $(date +%s) - start )) s; use: distgru-train --glove $out" >&2
