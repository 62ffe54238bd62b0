#!/usr/bin/python3
"""Audits a run's --sample-log (src/train/sample_log.h): across every start
of the trainer (resumes, restarts, other world sizes), the steps whose
updates the run kept each trained on `global_batch` rows, no row twice
within an epoch, and no step missing. A step redone by a later start (after
the checkpoint it resumed from) counts from that start only.

  sample_log_check.py CHECKPOINT_DIR GLOBAL_BATCH
Prints one summary line; exit 1 with the first problem found."""

import glob
import os
import sys


def main(run_dir, global_batch):
    starts = {}  # run id -> {"time", "resumed", "world", "steps": {step: (epoch, rows)}}
    for path in sorted(glob.glob(os.path.join(run_dir, "samples", "*-rank*.txt"))):
        with open(path) as f:
            header = f.readline().split()
            if header[:2] != ["#", "run"]:
                sys.exit(f"{path}: line 1 is not a '# run' header")
            run = header[2]
            s = starts.setdefault(run, {"time": float(header[header.index("started") + 1]),
                                        "resumed": int(header[header.index("resumed-at-step") + 1]),
                                        "world": int(header[header.index("of") + 1]), "steps": {}})
            for number, line in enumerate(f, start=2):
                fields = [int(x) for x in line.split()]
                if len(fields) < 2:
                    sys.exit(f"{path}:{number}: expected 'step epoch rows...'")
                step, epoch, rows = fields[0], fields[1], fields[2:]
                e, have = s["steps"].setdefault(step, (epoch, []))
                if e != epoch:
                    sys.exit(f"{path}:{number}: step {step} in epoch {epoch}, another rank says {e}")
                have.extend(rows)
    if not starts:
        sys.exit(f"no sample log under {run_dir}/samples")
    order = sorted(starts, key=lambda r: starts[r]["time"])
    kept = {}  # step -> (epoch, rows, run)
    for run in order:  # a later start overrides the steps it redid
        for step, (epoch, rows) in starts[run]["steps"].items():
            kept[step] = (epoch, rows, run)
    last = max(kept)
    missing = [k for k in range(1, last + 1) if k not in kept]
    if missing:
        sys.exit(f"steps missing from the log: {missing[:10]}")
    seen = {}  # epoch -> set of rows
    for step in range(1, last + 1):
        epoch, rows, run = kept[step]
        if len(rows) != global_batch:
            sys.exit(f"step {step} (run {run}): {len(rows)} rows over all ranks, not the global batch {global_batch}")
        rows_seen = seen.setdefault(epoch, set())
        twice = rows_seen.intersection(rows)
        if twice or len(set(rows)) != len(rows):
            sys.exit(f"step {step} (run {run}, epoch {epoch}): row(s) {sorted(twice)[:5] or 'within the step'} "
                     f"trained on twice in the epoch")
        rows_seen.update(rows)
    redone = sum(1 for run in order for step in starts[run]["steps"] if kept[step][2] != run)
    worlds = " -> ".join(f"{starts[r]['world']} ranks from step {starts[r]['resumed']}" for r in order)
    print(f"{len(order)} start(s) ({worlds}); steps 1..{last} each kept once, {redone} redone step(s) "
          f"superseded; epochs {sorted(seen)}: rows per epoch {[len(seen[e]) for e in sorted(seen)]}, "
          f"none twice")


if __name__ == "__main__":
    if len(sys.argv) != 3:
        sys.exit(__doc__)
    main(sys.argv[1], int(sys.argv[2]))
