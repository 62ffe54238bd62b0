#!/usr/bin/python3
"""The same model and training step as distgru, in PyTorch (Debian's
python3-torch, the same LibTorch 1.13 underneath): the baseline every distgru
figure in bench/run.sh is divided by.

Model: Embedding V x E -> bidirectional nn.GRU(E, H) -> attention MLP
(2H -> A ReLU -> 1, padding masked, softmax over time) -> Linear(2H, 2).
Step: cross-entropy summed / batch, backward, clip_grad_norm 5, Adam 1e-3,
as distgru-train. Data: the first rows of the prepared training shards (h5py),
or random tokens with --synthetic.

--threads default leaves every setting as PyTorch starts ("out of the box");
--threads N sets torch.set_num_threads(N) (run.sh also exports
OMP_NUM_THREADS / OPENBLAS_NUM_THREADS = N before Python starts);
--flush-denormal calls torch.set_flush_denormal(True), as distgru flushes
denormals to zero (run.sh passes it, with distgru's OPENBLAS_CORETYPE and
its malloc settings as GLIBC_TUNABLES, in the runs with distgru's settings;
the JSON records both variables).

--ddp-ranks N: PyTorch DistributedDataParallel, the peer of a distgru run on
N ranks: N processes (torch.multiprocessing) joined by the gloo backend over
loopback TCP, --threads threads each, the global batch split into the same
blocks distgru's ranks take (the first global % N ranks one row more), each
rank's loss summed over its rows / its rows (DDP averages the gradients:
the mean over the global batch when the blocks are equal). Rank 0 times the
steps; a step ends when its Adam update does, after DDP's allreduce.
"""

import argparse
import glob
import json
import os
import resource
import statistics
import sys
import time

import torch
import torch.distributed as dist
import torch.multiprocessing as mp
import torch.nn as nn
import torch.nn.functional as F


class AttentionGRU(nn.Module):
    def __init__(self, vocab, embed, hidden, attention, classes=2, pad_id=0):
        super().__init__()
        self.pad_id = pad_id
        self.embedding = nn.Embedding(vocab, embed)
        self.encoder = nn.GRU(embed, hidden, batch_first=True, bidirectional=True)
        self.attention_hidden = nn.Linear(2 * hidden, attention)
        self.attention_score = nn.Linear(attention, 1)
        self.classifier = nn.Linear(2 * hidden, classes)
        with torch.no_grad():
            self.embedding.weight.uniform_(-1.0, 1.0)

    def forward(self, tokens):
        states, _ = self.encoder(self.embedding(tokens))
        scores = self.attention_score(torch.relu(self.attention_hidden(states))).squeeze(-1)
        scores = scores.masked_fill(tokens.eq(self.pad_id), -1e9)
        weights = torch.softmax(scores, dim=1)
        context = torch.bmm(weights.unsqueeze(1), states).squeeze(1)
        return self.classifier(context), weights


def load_rows(args, rows):
    if args.synthetic:
        g = torch.Generator().manual_seed(1000)
        x = torch.randint(3, args.vocab, (rows, args.sentence), generator=g)
        y = torch.randint(0, 2, (rows,), generator=g)
        return x, y
    import h5py  # only needed for real data
    xs, ys, have = [], [], 0
    for path in sorted(glob.glob(os.path.join(args.data, "train-*.h5"))):
        with h5py.File(path, "r") as f:
            take = min(rows - have, f["y"].shape[0])
            xs.append(torch.from_numpy(f["x"][:take]).long())
            ys.append(torch.from_numpy(f["y"][:take]).long())
            have += take
        if have == rows:
            break
    if have == 0:
        raise SystemExit(f"pytorch_baseline: no train-*.h5 shards in {args.data}")
    x, y = torch.cat(xs), torch.cat(ys)
    index = torch.arange(rows) % x.shape[0]
    return x[index], y[index]


def block(batch, rank, ranks):
    """Rows [begin, end) of a global batch that `rank` takes (data::block_of)."""
    base, extra = divmod(batch, ranks)
    begin = rank * base + min(rank, extra)
    return begin, begin + base + (1 if rank < extra else 0)


def train(rank, args, queue=None):
    """Times the steps; returns rank 0's (step seconds, peak RSS MB, torch
    threads), and under mp.spawn also puts them on `queue`."""
    ranks = max(args.ddp_ranks, 1)
    if args.threads != "default":
        torch.set_num_threads(int(args.threads))
    if args.ddp_ranks:
        dist.init_process_group("gloo", init_method=f"tcp://127.0.0.1:{args.port}", rank=rank, world_size=ranks)
    torch.manual_seed(42)
    model = AttentionGRU(args.vocab, args.embed, args.hidden, args.attention)
    if args.ddp_ranks:
        model = nn.parallel.DistributedDataParallel(model)
    adam = torch.optim.Adam(model.parameters(), lr=1e-3)
    x, y = load_rows(args, args.batch * (args.steps + args.warmup))
    # After h5py's import: numpy measures its float limits then, and would warn
    # that the smallest subnormal is zero.
    if args.flush_denormal and not torch.set_flush_denormal(True):
        sys.exit("pytorch_baseline.py: this CPU cannot flush denormals")
    begin, end = block(args.batch, rank, ranks)
    step_s = []
    for i in range(args.warmup + args.steps):
        xb = x[i * args.batch + begin:i * args.batch + end]
        yb = y[i * args.batch + begin:i * args.batch + end]
        if args.ddp_ranks:
            dist.barrier()  # every rank starts the step together, as distgru's bench
        start = time.perf_counter()
        adam.zero_grad()
        logits, _ = model(xb)
        loss = F.cross_entropy(logits, yb, reduction="sum") / (end - begin if args.ddp_ranks else args.batch)
        loss.backward()
        nn.utils.clip_grad_norm_(model.parameters(), 5.0)
        adam.step()
        if i >= args.warmup:
            step_s.append(time.perf_counter() - start)
    if args.ddp_ranks:
        dist.destroy_process_group()
    result = (step_s, resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024.0, torch.get_num_threads())
    if queue is not None and rank == 0:
        queue.put(result)
    return result


def main():
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--data", default="")
    p.add_argument("--synthetic", action="store_true")
    p.add_argument("--threads", default="default")
    p.add_argument("--vocab", type=int, default=20000)
    p.add_argument("--sentence", type=int, default=256)
    p.add_argument("--embed", type=int, default=100)
    p.add_argument("--hidden", type=int, default=128)
    p.add_argument("--attention", type=int, default=32)
    p.add_argument("--batch", type=int, default=128)
    p.add_argument("--steps", type=int, default=12)
    p.add_argument("--warmup", type=int, default=3)
    p.add_argument("--json", default="")
    p.add_argument("--flush-denormal", action="store_true")
    p.add_argument("--ddp-ranks", type=int, default=0, help="DistributedDataParallel over this many processes")
    p.add_argument("--port", type=int, default=29517, help="gloo's rendezvous port on 127.0.0.1 (--ddp-ranks)")
    args = p.parse_args()

    if args.ddp_ranks:
        queue = mp.get_context("spawn").SimpleQueue()
        mp.spawn(train, args=(args, queue), nprocs=args.ddp_ranks, join=True)
        step_s, peak_rss_mb, torch_threads = queue.get()
    else:
        step_s, peak_rss_mb, torch_threads = train(0, args)

    rates = sorted(args.batch / s for s in step_s)
    q = lambda v, f: v[int(f * (len(v) - 1) + 0.5)]
    out = {
        "threads": args.threads,
        "torch_threads": torch_threads,
        "ddp_ranks": args.ddp_ranks,
        "openblas_coretype": os.environ.get("OPENBLAS_CORETYPE", ""),
        "glibc_tunables": os.environ.get("GLIBC_TUNABLES", ""),
        "flush_denormal": args.flush_denormal,
        "torch_version": torch.__version__,
        "global_batch": args.batch,
        "steps": args.steps,
        "step_seconds": {"median": statistics.median(step_s), "min": min(step_s), "max": max(step_s)},
        "samples_per_second": {"median": statistics.median(rates), "min": rates[0], "max": rates[-1],
                               "p10": q(rates, 0.1), "p90": q(rates, 0.9)},
        "peak_rss_mb": peak_rss_mb,
    }
    text = json.dumps(out, indent=2)
    if args.json:
        with open(args.json, "w") as f:
            f.write(text + "\n")
    else:
        print(text)


if __name__ == "__main__":
    main()
