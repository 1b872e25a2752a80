"""How `kchaos run` scales with the cluster: nodes, pods, wall seconds and peak RSS.

Each size is a limits-shaped topology from gen_limits.py (30 Deployment pods per
worker, spread over server, rack, datacenter or region), run as a fresh process
(`kchaos run --failures N --quiet`), so the figures are what a user waits for (wall), with the
CPU seconds of the process and its workers (which hold when other work shares the machine).
Target (issue 7): time per failure grows with the pods a failure displaces, not
with cluster size x pods; 5,000 nodes / 150,000 pods at 10,000 failures in at
most 120 s and 4 GiB.

    python benchmarks/bench_scale.py [--sizes 100,300,1000,5000] [--failures 2000] [--jobs J]
"""

from __future__ import annotations

import argparse
import os
import sys
import tempfile
from pathlib import Path

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE))

from gen_limits import topology  # noqa: E402
from timing import Timing, kchaos  # noqa: E402


def run_once(nodes: int, failures: int, jobs: int | None, timeout: float) -> Timing:
    """Wall and CPU seconds and peak RSS of one fresh `kchaos run` of a limits-shaped topology."""
    with tempfile.TemporaryDirectory() as tmp:
        path = Path(tmp) / f"limits-{nodes}.yaml"
        path.write_text(topology(nodes))
        args = ["run", str(path), "-n", str(failures), "-q", "--out", tmp] + (["--jobs", str(jobs)] if jobs else [])
        return kchaos(*args, timeout=timeout)


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--sizes", default="100,300,1000,5000")
    parser.add_argument("--failures", type=int, default=2000)
    parser.add_argument("--jobs", type=int, default=None)
    parser.add_argument("--timeout", type=float, default=600.0)
    args = parser.parse_args()
    print(f"{'nodes':>6} {'pods':>8} {'failures':>9} {'wall s':>8} {'cpu s':>8} {'peak GiB':>9}  status")
    for nodes in (int(x) for x in args.sizes.split(",")):
        t = run_once(nodes, args.failures, args.jobs, args.timeout)
        print(f"{nodes:>6} {nodes * 30:>8,} {args.failures:>9,} {t.wall:>8.1f} {t.cpu:>8.1f} {t.peak_rss / 2**30:>9.2f}  "
              f"{t.status}", flush=True)


if __name__ == "__main__":
    os.environ.setdefault("PYTHONHASHSEED", "0")
    main()
