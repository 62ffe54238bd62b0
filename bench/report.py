#!/usr/bin/python3
"""Turns the JSON files of one bench/run.sh invocation into the table (stdout,
markdown) and OUT/bench.json. Standard library only."""

import json
import os
import platform
import statistics
import sys


def load(out, name):
    path = os.path.join(out, name + ".json")
    if not os.path.exists(path):
        return None
    with open(path) as f:
        return json.load(f)


def cpu_name():
    try:
        with open("/proc/cpuinfo") as f:
            for line in f:
                if line.startswith("model name"):
                    return line.split(":", 1)[1].strip()
    except OSError:
        pass
    return platform.processor() or "unknown CPU"


def main(out):
    probe = load(out, "distgru_probe") or {}
    runs = {k: load(out, "distgru_" + k)
            for k in ("1x1", "1x2", "2x1", "2x1_bf16", "2x1_denormals", "2x1_dense_words")}
    runs = {k: v for k, v in runs.items() if v}
    torch_runs = {}
    for name in sorted(os.listdir(out)):
        if name.startswith("pytorch_") and name.endswith(".json") and "_pair_" not in name:
            torch_runs[name[len("pytorch_"):-5]] = load(out, name[:-5])
    rate = lambda r: r["samples_per_second"]["median"]
    default = torch_runs.get("default")
    # "PyTorch best": the best single process; DDP runs (pytorch_ddp*) are
    # the data-parallel peer, a column of their own.
    single = {k: v for k, v in torch_runs.items() if not v.get("ddp_ranks")}
    ddp_runs = {k: v for k, v in torch_runs.items() if v.get("ddp_ranks")}
    best_name = max(single, key=lambda k: rate(single[k])) if single else None
    best = single.get(best_name)
    ddp_best_name = max(ddp_runs, key=lambda k: rate(ddp_runs[k])) if ddp_runs else None
    ddp_best = ddp_runs.get(ddp_best_name)

    gemm = probe.get("gemm", {})
    cores = os.cpu_count()
    together = (load(out, f"distgru_probe_{cores}x1") or {}).get("gemm", {})
    # GEMM GFLOP/s that c cores deliver: one core alone, or every core with
    # one single-thread probe each, all at once (issue 16's honest floor).
    floor_of = {1: gemm.get("gflops_1_thread")}
    if together.get("gflops_concurrent_sum"):
        floor_of[together["ranks"]] = together["gflops_concurrent_sum"]
    # bf16 rows are judged against bf16's own floor (oneDNN's bf16 GEMM).
    bf16_floor_of = {1: gemm.get("bf16_gflops_1_thread")}
    if together.get("bf16_gflops_concurrent_sum"):
        bf16_floor_of[together["ranks"]] = together["bf16_gflops_concurrent_sum"]
    any_run = next(iter(runs.values()), None)
    flops = any_run["train"]["flops_per_step"] if any_run else None
    batch = any_run["global_batch"] if any_run else None

    print(f"\nMachine: {cpu_name()}, {cores} cores; GEMM probe (1024³, float, the faster of OpenBLAS and "
          f"oneDNN here: {together.get('fp32_floor_library') or gemm.get('fp32_floor_library', '?')}) "
          f"{gemm.get('gflops_1_thread', 0):.0f} GFLOP/s on 1 core alone"
          + (f", {together['gflops_concurrent_sum']:.0f} on {together['ranks']} single-thread ranks at once "
             f"(slowest rank {together['gflops_concurrent_min_rank']:.0f})" if together else "")
          + f"; {(flops or 0) / 1e9:.1f} GFLOP per step of {batch} samples")
    if flops:
        for c, g in sorted(floor_of.items()):
            if g:
                floor_s = flops / (g * 1e9)
                print(f"Floor on {c} core(s): {floor_s:.3f} s/step = {batch / floor_s:.0f} samples/s")
        for c, g in sorted(bf16_floor_of.items()):
            if g:
                floor_s = flops / (g * 1e9)
                print(f"bf16 floor on {c} core(s) (oneDNN's bf16 GEMM, {g:.0f} GFLOP/s): {floor_s:.3f} s/step = "
                      f"{batch / floor_s:.0f} samples/s")
        print()

    head = ("| Configuration | samples/s (median) | spread (min–max) | s/step | × PyTorch default "
            "| × PyTorch best | × PyTorch DDP best | sync share | GFLOP/s (dense model's) "
            "| share of its cores' floor (dense model's FLOPs; distgru's distinct words do fewer) |")
    print(head)
    print("|" + "---|" * 10)
    summary = {"machine": cpu_name(), "cores": cores, "gemm": gemm, "gemm_concurrent": together,
               "floor_gflops_by_cores": floor_of, "rows": []}

    def row(label, r, sync=None, cores_used=None, bf16=False):
        s = r["samples_per_second"]
        step = r["step_seconds"]["median"]
        vs_def = f"{rate(r) / rate(default):.2f}" if default else "–"
        vs_best = f"{rate(r) / rate(best):.2f}" if best else "–"
        vs_ddp = f"{rate(r) / rate(ddp_best):.2f}" if ddp_best else "–"
        gf = f"{flops / step / 1e9:.0f}" if flops else "–"
        share = f"{100 * sync:.1f}%" if sync is not None else "–"
        floor = (bf16_floor_of if bf16 else floor_of).get(cores_used)
        of_floor = flops / step / 1e9 / floor if flops and floor else None
        print(f"| {label} | {s['median']:.0f} | {s['min']:.0f}–{s['max']:.0f} | {step:.3f} | {vs_def} "
              f"| {vs_best} | {vs_ddp} | {share} | {gf} | {f'{100 * of_floor:.0f}%' if of_floor else '–'} |")
        summary["rows"].append({"label": label, "samples_per_second": s, "step_seconds": step,
                                "vs_pytorch_default": rate(r) / rate(default) if default else None,
                                "vs_pytorch_best": rate(r) / rate(best) if best else None,
                                "vs_pytorch_ddp_best": rate(r) / rate(ddp_best) if ddp_best else None,
                                "sync_share": sync, "cores_used": cores_used, "share_of_floor": of_floor})

    def torch_label(name, r):
        if name == "default":
            return f"PyTorch {r['torch_version']}, out of the box ({r['torch_threads']} torch thread(s))"
        core = r.get("openblas_coretype")
        ddp = r.get("ddp_ranks")
        return (f"PyTorch {r['torch_version']}"
                + (f" DDP (gloo), {ddp} processes × {r['threads']} thread(s)" if ddp else f", {r['threads']} thread(s)")
                + (f", OPENBLAS_CORETYPE={core}" if core else "")
                + (", distgru's malloc settings" if r.get("glibc_tunables") else "")
                + (", denormals flushed" if r.get("flush_denormal") else ""))

    for name, r in torch_runs.items():
        used = r["torch_threads"] * max(r.get("ddp_ranks") or 1, 1)
        row(torch_label(name, r), r, cores_used=used)
    for name, r in runs.items():
        t = r["train"]
        bf16 = r.get("precision") == "bf16"
        row(f"distgru {r['ranks']} rank(s) × {r['threads']} thread(s)"
            + (", bf16 products" if bf16 else "")
            + (f" (asked for bf16: {r['precision_note']})" if r.get("precision_note") else "")
            + ("" if r.get("flush_denormals", True) else ", denormals kept")
            + ("" if r.get("distinct_words", True) else ", dense input products (--dense-words)"), t,
            t["sync_share"]["median"] if r["ranks"] > 1 else None, cores_used=r["ranks"] * r["threads"],
            bf16=bf16)

    print()
    extra = {}
    if "1x1" in runs and "2x1" in runs:
        extra["scaling_1_to_2_ranks"] = rate(runs["2x1"]["train"]) / rate(runs["1x1"]["train"])
        print(f"- Scaling 1 → 2 ranks: {extra['scaling_1_to_2_ranks']:.2f}×")
    if "2x1_bf16" in runs and "2x1" in runs and runs["2x1_bf16"].get("precision") == "bf16":
        extra["bf16_vs_fp32_2x1"] = rate(runs["2x1_bf16"]["train"]) / rate(runs["2x1"]["train"])
        print(f"- bf16 products vs fp32, 2 ranks × 1 thread, same run: {extra['bf16_vs_fp32_2x1']:.2f}× "
              f"({runs['2x1_bf16']['gru']})")
    if "2x1_denormals" in runs and "2x1" in runs:
        extra["flush_denormals_gain"] = rate(runs["2x1"]["train"]) / rate(runs["2x1_denormals"]["train"])
        t = runs["2x1"]["train"]
        print(f"- Flushing denormals to zero, 2 ranks × 1 thread, steps {t['warmup'] + 1}–{t['warmup'] + t['steps']} "
              f"of a fresh model: {extra['flush_denormals_gain']:.2f}× (against the same run with --keep-denormals)")
    if "2x1_dense_words" in runs and "2x1" in runs:
        extra["distinct_words_gain"] = rate(runs["2x1"]["train"]) / rate(runs["2x1_dense_words"]["train"])
        print(f"- Each distinct word's input products once, 2 ranks × 1 thread: "
              f"{extra['distinct_words_gain']:.2f}× (against the same run with --dense-words)")
    one_thread = [k for k in torch_runs if k == "1" or k.startswith("1_")]
    if "1x1" in runs and one_thread:
        best_one = max(one_thread, key=lambda k: rate(torch_runs[k]))
        extra["1x1_vs_pytorch_1_thread"] = rate(runs["1x1"]["train"]) / rate(torch_runs[best_one])
        print(f"- distgru 1×1 vs PyTorch's best 1-thread run ({torch_label(best_one, torch_runs[best_one])}): "
              f"{extra['1x1_vs_pytorch_1_thread']:.2f}×")
    if best_name:
        print(f"- PyTorch best setting: {torch_label(best_name, best)}")
    if ddp_best_name:
        print(f"- PyTorch DDP best setting: {torch_label(ddp_best_name, ddp_best)}")
        if "2x1" in runs and ddp_best.get("ddp_ranks") == 2:
            extra["2x1_vs_pytorch_ddp_2"] = rate(runs["2x1"]["train"]) / rate(ddp_best)
            print(f"- distgru 2 ranks × 1 thread vs PyTorch DDP, 2 processes × 1 thread: "
                  f"{extra['2x1_vs_pytorch_ddp_2']:.2f}×")
    if probe.get("blas"):
        print(f"- distgru's BLAS: {probe['blas']}")
    if probe.get("gru"):
        print(f"- distgru's {probe['gru']}")
    ar = runs.get("2x1", {}).get("allreduce")
    if ar:
        print(f"- Allreduce of the gradients ({ar['bytes'] / 1e6:.1f} MB, 2 ranks): distgru "
              f"{ar['distgru_busbw_gbs']:.2f} GB/s bus bandwidth "
              f"({ar['distgru_seconds']['median'] * 1e3:.2f} ms), bare MPI_Allreduce "
              f"{ar['mpi_busbw_gbs']:.2f} GB/s ({ar['mpi_seconds']['median'] * 1e3:.2f} ms): "
              f"{100 * ar['distgru_busbw_gbs'] / max(ar['mpi_busbw_gbs'], 1e-12):.0f}% of bare")
        extra["allreduce"] = ar
    for name, r in runs.items():
        if name.endswith("_denormals") or name.endswith("_dense_words"):
            continue
        print(f"- distgru {name}: evaluation {r['train']['eval_samples_per_second']:.0f} samples/s, "
              f"peak RSS {r['peak_rss_mb_max_rank']:.0f} MB per rank")
    # distgru 2 x 1 and PyTorch DDP (as shipped and tuned) alternating
    # (bench/run.sh --ddp-pairs): the ratio to the faster DDP in each pair.
    ddp_pairs = []
    for i in sorted(int(n[len("distgru_ddp_pair_"):-5]) for n in os.listdir(out)
                    if n.startswith("distgru_ddp_pair_") and n.endswith(".json")):
        d = load(out, f"distgru_ddp_pair_{i}")
        peers = [p for p in (load(out, f"pytorch_ddp2x1_pair_{i}"), load(out, f"pytorch_ddp2x1_tuned_pair_{i}")) if p]
        if d and peers:
            ddp_pairs.append({"pair": i, "distgru": rate(d["train"]), "pytorch_ddp_best": max(rate(p) for p in peers)})
    if ddp_pairs:
        ratios = sorted(x["distgru"] / x["pytorch_ddp_best"] for x in ddp_pairs)
        median = statistics.median(ratios)
        print(f"- distgru 2 ranks × 1 thread vs PyTorch DDP (the faster of as shipped and tuned), "
              f"{len(ddp_pairs)} alternating pair{'s' if len(ddp_pairs) != 1 else ''}: "
              + ", ".join(f"{x['distgru']:.0f}/{x['pytorch_ddp_best']:.0f}" for x in ddp_pairs)
              + f" samples/s: {median:.2f}× median ({ratios[0]:.2f}–{ratios[-1]:.2f})")
        extra["2x1_vs_pytorch_ddp_pairs"] = {"pairs": ddp_pairs, "median_ratio": median,
                                             "min_ratio": ratios[0], "max_ratio": ratios[-1]}
    pairs = sorted(int(n[len("distgru_ab_this_"):-5]) for n in os.listdir(out)
                   if n.startswith("distgru_ab_this_") and n.endswith(".json"))
    if pairs:
        ab = []
        print(f"\nA/B against the baseline build, 2 ranks × 1 thread, {len(pairs)} alternating pairs "
              f"(baseline first in each):\n")
        print("| pair | samples/s this (baseline) | ratio | allreduce GB/s this (baseline) | ratio | "
              "% of bare MPI this (baseline) |")
        print("|" + "---|" * 6)
        for i in pairs:
            a, b = load(out, f"distgru_ab_this_{i}"), load(out, f"distgru_ab_baseline_{i}")
            if not a or not b:
                continue
            ra, rb = rate(a["train"]), rate(b["train"])
            aa, ab_ = a["allreduce"], b["allreduce"]
            bare = lambda x: 100 * x["distgru_busbw_gbs"] / max(x["mpi_busbw_gbs"], 1e-12)
            ab.append({"pair": i, "samples_per_second": ra, "baseline_samples_per_second": rb,
                       "busbw_gbs": aa["distgru_busbw_gbs"], "baseline_busbw_gbs": ab_["distgru_busbw_gbs"],
                       "percent_of_bare": bare(aa), "baseline_percent_of_bare": bare(ab_)})
            print(f"| {i} | {ra:.0f} ({rb:.0f}) | {ra / rb:.3f} | {aa['distgru_busbw_gbs']:.2f} "
                  f"({ab_['distgru_busbw_gbs']:.2f}) | {aa['distgru_busbw_gbs'] / ab_['distgru_busbw_gbs']:.3f} "
                  f"| {bare(aa):.0f}% ({bare(ab_):.0f}%) |")
        if ab:
            ratios = sorted(x["samples_per_second"] / x["baseline_samples_per_second"] for x in ab)
            bw = sorted(x["percent_of_bare"] - x["baseline_percent_of_bare"] for x in ab)
            print(f"\n- Throughput this / baseline: median {ratios[len(ratios) // 2]:.3f} "
                  f"(range {ratios[0]:.3f}–{ratios[-1]:.3f}); allreduce as a share of bare MPI, this minus "
                  f"baseline: median {bw[len(bw) // 2]:+.0f} points (range {bw[0]:+.0f} to {bw[-1]:+.0f})")
            extra["ab_against_baseline"] = ab
    shapes = together.get("shapes") or gemm.get("shapes") or {}
    if shapes:
        libs = ["openblas", "onednn_fp32", "onednn_bf16"]
        print(f"\nGEMM GFLOP/s by library and shape, {together.get('ranks', 1)} single-thread rank(s) at once, "
              f"summed (rank 0 alone on 1 thread):\n")
        print("| shape (m×k×n) | " + " | ".join(libs) + " |")
        print("|" + "---|" * (len(libs) + 1))
        for name, e in shapes.items():
            cells = [f"{e[l]['gflops_concurrent_sum']:.0f} ({e[l].get('gflops_1_thread', 0):.0f})" if l in e else "–"
                     for l in libs]
            print(f"| {name} {'×'.join(str(x) for x in e['mkn'])} | " + " | ".join(cells) + " |")
        extra["gemm_shapes"] = shapes
    gru = load(out, "distgru_gru")
    if gru and gru.get("gru"):
        g = gru["gru"]
        print(f"\nThe GRU alone, batch {g['batch_per_rank']} (one rank's of the 2-rank run), 1 thread, "
              f"forward + backward, milliseconds median (min–max); distgru's default products: {g['default_gemm']}:\n")
        print("| variant | forward | backward | total |")
        print("|---|---|---|---|")
        for name, v in g.items():
            if isinstance(v, dict) and "forward_seconds" in v:
                f, b = v["forward_seconds"], v["backward_seconds"]
                print(f"| {name}{' (' + v['implementation'] + ')' if v.get('implementation') else ''} "
                      f"| {1e3 * f['median']:.1f} ({1e3 * f['min']:.1f}–{1e3 * f['max']:.1f}) "
                      f"| {1e3 * b['median']:.1f} ({1e3 * b['min']:.1f}–{1e3 * b['max']:.1f}) "
                      f"| {1e3 * (f['median'] + b['median']):.1f} |")
            elif isinstance(v, dict) and v.get("error"):
                print(f"| {name} | refused: {v['error']} | | |")
        extra["gru_alone"] = g
    if gru and gru.get("attend"):
        a = gru["attend"]
        print(f"\nThe attention stage alone (model/attend.h), batch {a['batch_per_rank']}, 1 thread, the variants "
              "taking turns, milliseconds median (min–max):\n")
        print("| variant | forward | backward | total | × ATen op by op |")
        print("|---|---|---|---|---|")
        total = {n: v["forward_seconds"]["median"] + v["backward_seconds"]["median"]
                 for n, v in a.items() if isinstance(v, dict) and "forward_seconds" in v}
        for name, t in total.items():
            f, b = a[name]["forward_seconds"], a[name]["backward_seconds"]
            print(f"| {name} | {1e3 * f['median']:.1f} ({1e3 * f['min']:.1f}–{1e3 * f['max']:.1f}) "
                  f"| {1e3 * b['median']:.1f} ({1e3 * b['min']:.1f}–{1e3 * b['max']:.1f}) | {1e3 * t:.1f} "
                  f"| {total['aten'] / t:.2f} |")
        extra["attend_alone"] = a
    for name in ("probe", "2x1"):
        io = (probe if name == "probe" else runs.get("2x1", {})).get("io")
        if io:
            print(f"- HDF5 shard read ({'1 rank' if name == 'probe' else '2 ranks, per rank'}): "
                  f"{io['mb_per_s']:.0f} MB/s ({io['first_read_mb_per_s']:.0f} MB/s on first open)")
            extra["io_" + name] = io
    summary.update(extra)
    summary["pytorch"] = torch_runs
    summary["distgru"] = runs
    with open(os.path.join(out, "bench.json"), "w") as f:
        json.dump(summary, f, indent=2)
    print(f"\nWritten: {os.path.join(out, 'bench.json')}")


if __name__ == "__main__":
    main(sys.argv[1] if len(sys.argv) > 1 else "build/bench-results")
