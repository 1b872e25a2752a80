"""Histories on a Dask cluster: speed-up with local workers, and what a real cluster would give.

Runs N failures (default 300,000) of topologies/benchmark-5-members.yaml as whole processes:
`--jobs 1`, the local pool with `--jobs 2`, and `--dask local` with 2, 4 and 8 single-thread
workers (a LocalCluster on this machine), printing wall and CPU seconds and the speed-up over
`--jobs 1`. A machine's cores bound the local speed-up. For a cluster of W one-core workers
(each on a core of its own) it extrapolates

    wall ~ S + A + H x ceil(K / W) / K

S the serial part (start-up, model, analysis, report: CPU of a run of 100 failures), A a Dask
worker's own start-up (importing kchaos and building the model: the CPU the 2-worker Dask run
spends beyond the 2-process local pool, per worker; the workers start together), H the
histories' CPU in one process (the `--jobs 1` run less S) and K the number of histories (the
last round of a cluster with fewer workers than histories is partly idle). CPU seconds are used
because they hold on a busy machine; on a quiet one a single process's wall equals its CPU.

    python benchmarks/bench_dask.py [--failures 300000] [--workers 2,4,8] [--cluster 6]
"""

from __future__ import annotations

import argparse
import math
import sys
import tempfile
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
sys.path.insert(1, str(Path(__file__).resolve().parents[1]))

from timing import kchaos  # noqa: E402


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--topology", default="topologies/benchmark-5-members.yaml")
    parser.add_argument("--failures", type=int, default=300_000)
    parser.add_argument("--workers", default="2,4,8")
    parser.add_argument("--cluster", type=int, default=6, help="workers of the cluster to extrapolate to")
    args = parser.parse_args()
    n = str(args.failures)

    def run(*extra: str):
        with tempfile.TemporaryDirectory() as tmp:
            t = kchaos("run", args.topology, "-n", n, "-q", "-o", tmp, *extra)
        return t

    with tempfile.TemporaryDirectory() as tmp:
        serial = kchaos("run", args.topology, "-n", "100", "-j", "1", "-q", "-o", tmp)
    one = run("-j", "1")
    pool = run("-j", "2")
    print(f"{args.failures:,} failures of {args.topology}")
    print(f"  serial part (100 failures)  {serial}")
    print(f"  --jobs 1                    {one}")
    print(f"  --jobs 2 (local pool)       {pool}  speed-up {one.wall / pool.wall:.2f}x")
    dask2 = None
    for w in (int(x) for x in args.workers.split(",")):
        t = run("-j", str(w), "--dask", "local")
        dask2 = dask2 or t
        print(f"  --dask local, {w} workers    {t}  speed-up {one.wall / t.wall:.2f}x  {t.status}", flush=True)
    s, h = serial.cpu, max(one.cpu - serial.cpu, 0.0)
    start = max(dask2.cpu - pool.cpu, 0.0) / 2
    k = histories(args.failures)
    for w in (2, args.cluster):
        wall = s + start + h * math.ceil(k / w) / k
        print(f"  extrapolated, {w} one-core Dask workers: ~{wall:.1f} s (S {s:.1f} + A {start:.1f} + H {h:.1f} x "
              f"{math.ceil(k / w)}/{k} histories), speed-up ~{one.cpu / wall:.1f}x over one process")


def histories(failures: int) -> int:
    """How many histories a run of ``failures`` plays (the driver's plan)."""
    from kchaos.model.sampling.montecarlo import MAX_FAILURES_PER_HISTORY, MIN_FAILURES_PER_HISTORY, TARGET_HISTORIES

    return max(1, min(TARGET_HISTORIES, failures // MIN_FAILURES_PER_HISTORY),
               math.ceil(failures / MAX_FAILURES_PER_HISTORY))


if __name__ == "__main__":
    main()
