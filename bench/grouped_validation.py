#!/usr/bin/python3
"""A diagnostic, not part of training: a copy of a distgru-prepare directory whose
validation tail keeps one movie's reviews together, as the test split does.

The labeled IMDB archive has no urls_*.txt, so which reviews share a movie is not
given. Reviews were numbered movie by movie, though: two reviews with consecutive
ids of one label share 100x more rare words (2 to 40 reviews) than two random ones
(0.127 against 0.0012 for positive reviews, 0.084 against 0.0006 for negative
ones), while the review of the same id in the other label shares none (0.0003).
So this script cuts each label's ids into blocks of 125 consecutive ids, draws 10
blocks per label (seeded) and moves their 2,500 reviews to the end of the training
split, where distgru-train holds out its validation tail (--val-fraction 0.1); the
other 22,500 keep their shuffled order. A movie can still straddle a block edge,
and its reviews of the other label stay in training (the two labels' ids follow
different movie orders), so the split is only mostly movie-disjoint.

Rows are matched to archive files by encoding every review with the tokeniser of
examples/load_in_pytorch.py (the same ids as distgru-prepare, checked by
tests/cli/export_test.sh). Test shards and vocab.txt are copied unchanged; the
manifest gets the new shards' SHA-256. Learn the vectors again for the copy
(data/pretrain_vectors.sh OUT --threads 1), since its validation tail differs.

  bench/grouped_validation.py DATA_DIR OUT_DIR ARCHIVE [--seed 42]
"""
import argparse
import hashlib
import json
import os
import random
import re
import shutil
import sys
import tarfile

import h5py
import numpy as np

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "examples"))
from load_in_pytorch import Tokenizer  # noqa: E402

BLOCK, BLOCKS_PER_LABEL, VAL_BLOCKS_PER_LABEL = 125, 100, 10


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("data"), ap.add_argument("out"), ap.add_argument("archive")
    ap.add_argument("--seed", type=int, default=42)
    a = ap.parse_args()
    manifest = json.load(open(os.path.join(a.data, "manifest.json")))
    vocab_header = open(os.path.join(a.data, "vocab.txt"), "rb").readline().decode()
    truncation = re.search(r"truncate=(\S+)", vocab_header)
    t = {"sentence_size": manifest["sentence_size"], "index_offset": manifest["index_offset"],
         "start_id": manifest["start_id"], "oov_id": manifest["oov_id"], "pad_id": manifest["pad_id"],
         "truncation": truncation.group(1) if truncation else "start"}
    tok = Tokenizer(os.path.join(a.data, "vocab.txt"), t)
    files_of_row = {}
    with tarfile.open(a.archive) as tar:
        for m in tar:
            mm = re.match(r".*/train/(pos|neg)/(\d+)_\d+\.txt$", m.name)
            if mm:
                ids, _ = tok.encode(tar.extractfile(m).read())
                files_of_row.setdefault(tuple(ids), []).append((mm.group(1), int(mm.group(2))))
    train = [f for f in manifest["files"] if f["split"] == "train"]
    xs, ys, shard_attrs, kwargs = [], [], [], {}
    for f in train:
        with h5py.File(os.path.join(a.data, f["name"]), "r") as h:
            xs.append(h["x"][...])
            ys.append(h["y"][...])
            shard_attrs.append(dict(h.attrs))
            for name in ("x", "y"):
                kwargs[name] = {k: getattr(h[name], k) for k in ("chunks", "compression", "compression_opts")}
    x, y = np.concatenate(xs), np.concatenate(ys)
    if len(x) != 2 * BLOCK * BLOCKS_PER_LABEL:
        sys.exit(f"grouped_validation: {len(x)} training rows; only the full 25,000 are supported")
    # Identical reviews encode the same: any of their files will do.
    keys = [files_of_row[tuple(int(v) for v in row)].pop() for row in x]
    rng = random.Random(a.seed)
    held = {(label, b) for label in ("pos", "neg") for b in rng.sample(range(BLOCKS_PER_LABEL), VAL_BLOCKS_PER_LABEL)}
    is_val = np.array([(label, i // BLOCK) in held for label, i in keys])
    order = np.concatenate([np.nonzero(~is_val)[0], np.nonzero(is_val)[0]])
    x, y = x[order], y[order]
    os.makedirs(a.out, exist_ok=True)
    start = 0
    for f, attrs, part in zip(train, shard_attrs, xs):
        path = os.path.join(a.out, f["name"])
        with h5py.File(path, "w") as h:
            h.create_dataset("x", data=x[start:start + len(part)], **kwargs["x"])
            h.create_dataset("y", data=y[start:start + len(part)], **kwargs["y"])
            for k, v in attrs.items():
                h.attrs[k] = v
        start += len(part)
        f["sha256"] = hashlib.sha256(open(path, "rb").read()).hexdigest()
        f["bytes"] = os.path.getsize(path)
    for f in manifest["files"]:
        if f["split"] != "train":
            shutil.copy(os.path.join(a.data, f["name"]), os.path.join(a.out, f["name"]))
    shutil.copy(os.path.join(a.data, "vocab.txt"), os.path.join(a.out, "vocab.txt"))
    json.dump(manifest, open(os.path.join(a.out, "manifest.json"), "w"), indent=2)
    print(f"grouped_validation: {a.out}: the last {int(is_val.sum())} training rows are 20 blocks of "
          f"{BLOCK} ids ({int(y[-int(is_val.sum()):].sum())} positive); learn its vectors with "
          f"data/pretrain_vectors.sh {a.out} --threads 1")


if __name__ == "__main__":
    main()
