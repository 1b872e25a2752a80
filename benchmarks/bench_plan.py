"""Speed of `kchaos plan` on the benchmark topology (prints figures).

Target: a plan for topologies/benchmark-5-members.yaml (3 regions, 5 members, 60 workers,
~500 pods) in at most 60 s on 2 cores. Each run is a whole `python -m kchaos plan` process;
the figures are its wall time and the CPU seconds of the process and its workers together
(on a shared machine CPU seconds are the steadier figure: wall <= CPU / cores on a quiet one).

    python benchmarks/bench_plan.py [TOPOLOGY] [--runs 3] [--jobs 2] [--failures 10000]
"""

from __future__ import annotations

import argparse
import json
import resource
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

HERE = Path(__file__).resolve().parent
DEFAULT = HERE.parent / "topologies" / "benchmark-5-members.yaml"


def children_cpu() -> float:
    usage = resource.getrusage(resource.RUSAGE_CHILDREN)
    return usage.ru_utime + usage.ru_stime


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("topology", nargs="?", default=str(DEFAULT))
    parser.add_argument("--runs", type=int, default=3)
    parser.add_argument("--jobs", type=int, default=2)
    parser.add_argument("--failures", type=int, default=10_000)
    args = parser.parse_args()
    walls, cpus = [], []
    with tempfile.TemporaryDirectory() as tmp:
        for i in range(args.runs):
            out = Path(tmp) / f"plan-{i}"
            cpu0, t0 = children_cpu(), time.perf_counter()
            proc = subprocess.run([sys.executable, "-m", "kchaos", "plan", args.topology, "-o", str(out), "-q",
                                   "-j", str(args.jobs), "-n", str(args.failures)], capture_output=True, text=True)
            walls.append(time.perf_counter() - t0)
            cpus.append(children_cpu() - cpu0)
            if proc.returncode not in (0, 1):
                sys.exit(f"kchaos plan failed ({proc.returncode}): {proc.stderr}")
            doc = json.loads((out / "plan.json").read_text())
            print(f"run {i + 1}: wall {walls[-1]:6.1f} s, CPU {cpus[-1]:6.1f} s "
                  f"({doc['search']['layouts_built']} layouts screened, {doc['search']['simulations']} simulated, "
                  f"{len(doc['moves'])} moves, every target met: {doc['met']})")
    print(f"{Path(args.topology).name}: --jobs {args.jobs}, {args.failures:,} failures per simulation, {args.runs} runs")
    print(f"wall  median {statistics.median(walls):6.1f} s  (range {min(walls):.1f}-{max(walls):.1f})")
    print(f"CPU   median {statistics.median(cpus):6.1f} s  (range {min(cpus):.1f}-{max(cpus):.1f}); "
          f"on 2 quiet cores wall is about CPU / 2 plus the serial part")


if __name__ == "__main__":
    main()
