"""Histories on a Dask cluster: speed-up with local workers, and what a real cluster would give.

Runs N failures (default 300,000) of topologies/benchmark-5-members.yaml as whole processes:
`--jobs 1`, the local pool with `--jobs 2`, and `--dask local` with 2, 4 and 8 single-thread
workers (a LocalCluster on this machine), printing wall and CPU seconds and the speed-up over
`--jobs 1`. A machine's cores bound the local speed-up; for a cluster of W one-core workers the
script extrapolates wall ~ S + H / W + D: S the serial part (start-up, model, analysis, report:
a run of 100 failures), H the histories' time in one process (the `--jobs 1` run less S), D the
Dask overhead measured here (the `--dask local` run with 2 workers less the local pool's).

    python benchmarks/bench_dask.py [--failures 300000] [--workers 2,4,8] [--cluster 6]
"""

from __future__ import annotations

import argparse
import sys
import tempfile
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))

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
    s, h = serial.wall, max(one.wall - serial.wall, 0.0)
    overhead = max(dask2.wall - pool.wall, 0.0)
    for w in (2, args.cluster):
        wall = s + h / w + overhead
        print(f"  extrapolated, {w} one-core Dask workers: ~{wall:.1f} s (S {s:.1f} + H/{w} {h / w:.1f} "
              f"+ Dask overhead {overhead:.1f}), speed-up ~{one.wall / wall:.1f}x")


if __name__ == "__main__":
    main()
