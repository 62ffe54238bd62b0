#!/usr/bin/env bash
# Word vectors learned from the training reviews alone, the offline stand-in
# for the tutorial's GloVe 6B vectors (which users with internet can still
# pass to --glove): the tokenised training reviews of a distgru-prepare
# directory, minus the validation tail the trainer holds out and never the
# test split, written out as text and given to Debian's fastText
# (`fasttext skipgram`, Bojanowski et al., TACL 2017). Writes OUT.vec, which
# `distgru-train --glove OUT.vec` loads (the loader reads fastText's header),
# and OUT.vec.json: its SHA-256, the data it came from and the settings.
#
#   data/pretrain_vectors.sh DATA_DIR OUT.vec [--dim 100] [--epoch 5] [--val-fraction 0.1] [--threads N]
#
# Needs `fasttext` (apt-get install fasttext) and /usr/bin/python3 with h5py.
set -euo pipefail
usage() { sed -n '2,13p' "$0" | sed 's/^# \{0,1\}//'; }
[[ $# -ge 2 && $1 != -h && $1 != --help ]] || { usage; [[ ${1:-} == -h || ${1:-} == --help ]]; exit $?; }
data=$1 out=$2; shift 2
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
trap 'rm -f "$corpus"' EXIT

# The training split in shard order, as the trainer sees it; its last
# val_fraction (floored, as train/training_data.cpp does) left out.
/usr/bin/python3 - "$data" "$val_fraction" "$corpus" <<'PY'
import json, math, os, sys
import h5py
data, val_fraction, corpus = sys.argv[1], float(sys.argv[2]), sys.argv[3]
manifest = json.load(open(os.path.join(data, "manifest.json")))
first_word_id = manifest["index_offset"] + 1
with open(os.path.join(data, "vocab.txt")) as f:
    header = f.readline()
    if not header.startswith("# distgru vocab"):
        sys.exit(f"{data}/vocab.txt: line 1 is not a distgru vocab header")
    words = [line.split("\t", 1)[0] for line in f]
shards = [e for e in manifest["files"] if e["split"] == "train"]
total = sum(e["num_samples"] for e in shards)
keep = total - math.floor(total * val_fraction)
written = tokens = 0
with open(corpus, "w") as out:
    for e in shards:
        x = h5py.File(os.path.join(data, e["name"]), "r")["x"][:]
        for row in x:
            if written == keep:
                break
            ids = [int(i) for i in row if i >= first_word_id]
            out.write(" ".join(words[i - first_word_id] for i in ids) + "\n")
            written += 1
            tokens += len(ids)
print(f"pretrain_vectors: {written} of {total} training reviews ({total - keep} validation reviews left out), "
      f"{tokens} in-vocabulary tokens", file=sys.stderr)
PY
start=$(date +%s)
fasttext skipgram -input "$corpus" -output "${out%.vec}" -dim "$dim" -epoch "$epoch" -minCount 1 \
  -thread "$threads" -verbose 1  # more than one thread: lock-free updates, not bit-reproducible
rm -f "${out%.vec}.bin"
sha=$(sha256sum "$out" | cut -d' ' -f1)
/usr/bin/python3 - "$out.json" "$sha" "$data" "$dim" "$epoch" "$val_fraction" "$(( $(date +%s) - start ))" <<'PY'
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
