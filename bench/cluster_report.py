#!/usr/bin/python3
"""The table of bench/cluster.sh: one row per (hosts, link rate, sync mode)
from the JSON files distgru-bench wrote to OUT, and OUT/cluster.json.
Standard library only."""

import json
import os
import re
import sys

MODES = ["dense", "bf16", "sparse", "sparse_bf16", "dense_no_overlap", "sparse_bf16_no_overlap", "dense_ring",
         "sparse_bf16_ring"]
LABELS = {
    "dense": "dense float, overlapped",
    "bf16": "--bf16-allreduce",
    "sparse": "--sparse-embedding",
    "sparse_bf16": "--sparse-embedding --bf16-allreduce",
    "dense_no_overlap": "dense float, --overlap-sync 0",
    "sparse_bf16_no_overlap": "sparse + bf16, --overlap-sync 0",
    "dense_ring": "dense float, Open MPI ring allreduce",
    "sparse_bf16_ring": "sparse + bf16, Open MPI ring allreduce",
}


def link_bits(rate):
    """tc's rate ("1gbit", "100mbit") in bit/s; "none" (no limit) first."""
    m = re.fullmatch(r"(\d+)([kmg]?)bit", rate)
    if not m:
        return float("inf")
    return int(m.group(1)) * {"": 1, "k": 1e3, "m": 1e6, "g": 1e9}[m.group(2)]


def cpu_name():
    with open("/proc/cpuinfo") as f:
        for line in f:
            if line.startswith("model name"):
                return line.split(":", 1)[1].strip()
    return "unknown CPU"


def main(out):
    runs = {}
    for name in os.listdir(out):
        m = re.fullmatch(r"(\d+)h_([^_]+)_(.+)\.json", name)
        if m:
            with open(os.path.join(out, name)) as f:
                runs[(int(m.group(1)), m.group(2), m.group(3))] = json.load(f)
    if not runs:
        sys.exit(f"cluster_report.py: no results in {out}")
    any_run = next(iter(runs.values()))
    print(f"\nCluster bench: {cpu_name()}, {os.cpu_count()} cores shared by every host; 1 rank x 1 thread "
          f"per host; global batch {any_run['global_batch']}; {any_run['train']['steps']} timed steps "
          f"after {any_run['train']['warmup']}\n")
    print("| hosts | link | gradient sync | samples/s median (min–max) | sync share median (p10–p90) "
          "| MB/step handed to MPI | MB/step sent, busiest host | × fewer bytes than dense "
          "| allreduce of the gradient, distgru / bare float MPI_Allreduce: ms (bus bw GB/s) |")
    print("|" + "---|" * 9)
    rows = []
    for key in sorted(runs, key=lambda k: (k[0], -link_bits(k[1]), MODES.index(k[2]) if k[2] in MODES else 99)):
        n, rate, mode = key
        r = runs[key]
        t = r["train"]
        dense = runs.get((n, rate, "dense"), {}).get("train")
        s = t["samples_per_second"]
        share = t["sync_share"]
        sent = t["link_sent_mb_per_step_max_host"]
        fewer = f"{dense['link_sent_mb_per_step_max_host'] / sent:.2f}" if dense and sent > 0 else "–"
        bus = "–"
        if "allreduce" in r:
            a = r["allreduce"]
            bus = (f"{1e3 * a['distgru_seconds']['median']:.1f} / {1e3 * a['mpi_seconds']['median']:.1f} "
                   f"({a['distgru_busbw_gbs']:.3f} / {a['mpi_busbw_gbs']:.3f})")
        print(f"| {n} | {rate} | {LABELS.get(mode, mode)} | {s['median']:.0f} ({s['min']:.0f}–{s['max']:.0f}) "
              f"| {100 * share['median']:.1f}% ({100 * share['p10']:.1f}–{100 * share['p90']:.1f}%) "
              f"| {t['sync_volume_mb_per_step']:.2f} | {sent:.2f} | {fewer} | {bus} |")
        rows.append({"hosts": n, "link": rate, "mode": mode, "samples_per_second": s, "sync_share": share,
                     "sync_volume_mb_per_step": t["sync_volume_mb_per_step"],
                     "link_sent_mb_per_step_max_host": sent,
                     "link_received_mb_per_step_max_host": t["link_received_mb_per_step_max_host"],
                     "allreduce": r.get("allreduce")})
    with open(os.path.join(out, "cluster.json"), "w") as f:
        json.dump({"machine": cpu_name(), "cores": os.cpu_count(), "rows": rows}, f, indent=2)
    print(f"\n(each row: {out}/<hosts>h_<link>_<mode>.json and .log; all rows: {out}/cluster.json)")


if __name__ == "__main__":
    main(sys.argv[1] if len(sys.argv) > 1 else "build/bench-cluster")
