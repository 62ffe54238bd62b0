#!/usr/bin/python3
"""Compares two files of prediction JSON lines (distgru-predict --json and
another runtime's): the same reviews in the same order, the same token ids,
and probabilities and attention weights within a tolerance. Prints the
largest differences; exits 1 above the tolerance.

    compare_predictions.py DISTGRU.jsonl OTHER.jsonl [TOLERANCE]
"""
import json
import sys


def rows(path):
    with open(path) as f:
        return [json.loads(line) for line in f if line.strip()]


def main(a_path, b_path, tolerance=1e-5):
    a, b = rows(a_path), rows(b_path)
    assert len(a) == len(b), f"{len(a)} results in {a_path}, {len(b)} in {b_path}"
    max_p = max_w = 0.0
    for x, y in zip(a, b):
        assert x.get("line") == y.get("line"), (x.get("line"), y.get("line"))
        if "error" in x or "error" in y:
            assert x.get("error") == y.get("error"), (x, y)
            continue
        assert x["ids"] == y["ids"], f"line {x.get('line')}: the token ids differ"
        max_p = max(max_p, abs(x["positive_probability"] - y["positive_probability"]))
        assert len(x["tokens"]) == len(y["tokens"]), f"line {x.get('line')}: token counts differ"
        for s, t in zip(x["tokens"], y["tokens"]):
            max_w = max(max_w, abs(s["attention"] - t["attention"]))
    print(f"{len(a)} reviews, same token ids; max |P(positive) difference| {max_p:.2e}, "
          f"max |attention difference| {max_w:.2e} (tolerance {tolerance})")
    return 0 if max_p <= tolerance and max_w <= tolerance else 1


if __name__ == "__main__":
    sys.exit(main(sys.argv[1], sys.argv[2], float(sys.argv[3]) if len(sys.argv) > 3 else 1e-5))
