#!/usr/bin/env bash
# The README's first command: on a fresh Debian 12 machine, installs what is
# missing, builds, prepares the real IMDB data, learns word vectors from its
# training reviews when the README config asks for them (`glove = data`;
# data/pretrain_vectors.sh on one thread, so the file, and the run, are the
# same every time) and trains the tutorial's model on 2 MPI ranks, printing
# test accuracy and ROC AUC.
#
#   launch/quickstart.sh [--archive PATH] [-n RANKS] [-- extra distgru-train flags]
#
# Data goes to work/imdb, checkpoints and metrics to work/run. Re-running
# resumes from the newest checkpoint (--resume auto).
set -euo pipefail
root=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
cd "$root"

archive_args=()
ranks=2
while [[ $# -gt 0 ]]; do
  case "$1" in
    --archive) archive_args=(--archive "$2"); shift 2 ;;
    -n) ranks=$2; shift 2 ;;
    -h|--help) sed -n '2,13p' "$0" | sed 's/^# \{0,1\}//'; exit 0 ;;
    --) shift; break ;;
    *) echo "quickstart: unknown option $1" >&2; exit 2 ;;
  esac
done

launch/install_deps.sh
launch/build.sh

data=work/imdb
if [[ ! -f $data/manifest.json ]]; then
  archive=$(data/fetch_imdb.sh "${archive_args[@]}" | tail -1)
  build/bin/distgru-prepare --source "$archive" --out "$data" --shards "$ranks"
fi
if grep -qE '^glove *= *data' configs/imdb_bigru_attention.ini && [[ ! -f $data/word_vectors.vec ]]; then
  data/pretrain_vectors.sh "$data" --threads 1
fi

start=$(date +%s)
launch/train_local.sh -n "$ranks" -- --config configs/imdb_bigru_attention.ini \
  --data "$data" --checkpoint-dir work/run --resume auto "$@"
echo "quickstart: finished in $(( $(date +%s) - start )) s; metrics in work/run/test_metrics.json"
