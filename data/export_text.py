#!/usr/bin/python3
"""A distgru-prepare directory's reviews as text, one review per line, the
words exactly as the shards hold them (lower-cased, tokenised, the 20,000
most frequent training words, truncated as prepared, padding dropped), for
tools that read text: fastText's skipgram (data/pretrain_vectors.sh) and its
supervised classifier (bench/quality.sh).

  data/export_text.py DATA_DIR {train,validation,test} OUT [--val-fraction 0.1] [--labels] [--oov TOKEN]

train is the training split less the validation tail the trainer holds out
(its last floor(n x val-fraction) reviews in shard order, as
src/train/training_data.cpp), validation that tail, test the test split.
--labels starts each line with fastText's __label__0 / __label__1; --oov
writes out-of-vocabulary words as TOKEN (default: left out). Summary on stderr.
Needs h5py (python3-h5py).
"""
import argparse
import json
import math
import os
import sys

import h5py


def main():
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("data")
    p.add_argument("part", choices=["train", "validation", "test"])
    p.add_argument("out")
    p.add_argument("--val-fraction", type=float, default=0.1)
    p.add_argument("--labels", action="store_true")
    p.add_argument("--oov", default=None)
    a = p.parse_args()
    manifest_path = os.path.join(a.data, "manifest.json")
    if not os.path.isfile(manifest_path):
        sys.exit(f"export_text: {a.data} is not a distgru-prepare directory (no manifest.json)")
    manifest = json.load(open(manifest_path))
    first_word_id = manifest["index_offset"] + 1
    oov_id = manifest.get("oov_id", -1)
    with open(os.path.join(a.data, "vocab.txt")) as f:
        if not f.readline().startswith("# distgru vocab"):
            sys.exit(f"export_text: {a.data}/vocab.txt: line 1 is not a distgru vocab header")
        words = [line.split("\t", 1)[0] for line in f]
    split = "test" if a.part == "test" else "train"
    shards = [e for e in manifest["files"] if e["split"] == split]
    total = sum(e["num_samples"] for e in shards)
    held_out = math.floor(total * a.val_fraction) if split == "train" else 0
    first, end = {"train": (0, total - held_out), "validation": (total - held_out, total), "test": (0, total)}[a.part]
    row = written = tokens = 0
    counts = [0, 0]
    with open(a.out, "w") as out:
        for e in shards:
            f = h5py.File(os.path.join(a.data, e["name"]), "r")
            x, y = f["x"][:], f["y"][:]
            for ids, label in zip(x, y):
                if first <= row < end:
                    text = []
                    for i in ids:
                        if i >= first_word_id:
                            text.append(words[i - first_word_id])
                        elif i == oov_id and a.oov is not None:
                            text.append(a.oov)
                    prefix = f"__label__{int(label)} " if a.labels else ""
                    out.write(prefix + " ".join(text) + "\n")
                    written += 1
                    tokens += len(text)
                    counts[int(label)] += 1
                row += 1
    where = f"rows {first}..{end - 1}"
    if split == "train":
        where += f"; {held_out} validation reviews at the end of the training split"
    print(f"export_text: {a.part}: {written} of {total} {split} reviews ({where}), {tokens} tokens, "
          f"labels 0/1: {counts[0]}/{counts[1]}", file=sys.stderr)


if __name__ == "__main__":
    main()
