"""Speed of a full `kchaos run` core on the benchmark topology (prints figures).

Targets: 3 regions, 5 members, 60 workers, ~500 pods: 10,000 failures in at most
3 s for the whole process (issue 7; `kchaos run` measures that), 1,000,000 in at most 60 s.

    python benchmarks/bench_run.py [--failures 10000] [--jobs 1] [--whole 5]

``--whole N`` also times N complete `python -m kchaos run` processes (median and range): the
figure the 3 s target is about. Bytecode should be compiled, as `pip install .` does (an
editable install under PYTHONDONTWRITEBYTECODE=1 recompiles every kchaos module each run).
"""

from __future__ import annotations

import argparse
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from kchaos.analysis import analyze
from kchaos.model.engine import ClusterModel
from kchaos.model.sampling.montecarlo import run_monte_carlo
from kchaos.report import render_html
from kchaos.topology import load_topology

HERE = Path(__file__).resolve().parent
DEFAULT = HERE.parent / "topologies" / "benchmark-5-members.yaml"


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("topology", nargs="?", default=str(DEFAULT))
    parser.add_argument("--failures", type=int, default=10_000)
    parser.add_argument("--jobs", type=int, default=1)
    parser.add_argument("--seed", type=int, default=1)
    parser.add_argument("--whole", type=int, default=0, metavar="N", help="also time N whole processes")
    args = parser.parse_args()

    t0 = time.perf_counter()
    cluster = load_topology(args.topology)
    t1 = time.perf_counter()
    model = ClusterModel(cluster)
    t2 = time.perf_counter()
    out = run_monte_carlo(cluster, failures=args.failures, seed=args.seed, jobs=args.jobs, model=model)
    t3 = time.perf_counter()
    results = analyze(out)
    t4 = time.perf_counter()
    render_html(results)
    t5 = time.perf_counter()
    pods = model.n_pods
    print(f"topology: {cluster.name}: {len(cluster.members)} members, {len(model.workers)} workers, {pods} pods, "
          f"{len(cluster.domains)} failure instances")
    print(f"failures: {results['run']['failures_injected']} over {results['run']['histories']} histories, "
          f"{results['run']['simulated_years']:.1f} simulated years, jobs={args.jobs}")
    print(f"load+validate   {t1 - t0:7.3f} s")
    print(f"model build     {t2 - t1:7.3f} s")
    print(f"simulation      {t3 - t2:7.3f} s  ({args.failures / (t3 - t2):,.0f} failures/s)")
    print(f"analysis        {t4 - t3:7.3f} s")
    print(f"html            {t5 - t4:7.3f} s")
    print(f"total           {t5 - t0:7.3f} s  (simulation and analysis; whole-process target 3 s at 10,000)")
    if args.whole:
        walls = sorted(whole_process(args) for _ in range(args.whole))
        print(f"whole process   {statistics.median(walls):7.3f} s  median of {args.whole} "
              f"({walls[0]:.2f}-{walls[-1]:.2f} s): python -m kchaos run -n {args.failures:,} -j {args.jobs}")


def whole_process(args: argparse.Namespace) -> float:
    """Wall seconds of one `python -m kchaos run` (startup, imports, simulation, report, exit)."""
    with tempfile.TemporaryDirectory() as out:
        t0 = time.perf_counter()
        subprocess.run([sys.executable, "-m", "kchaos", "run", args.topology, "-n", str(args.failures),
                        "-j", str(args.jobs), "--seed", str(args.seed), "-o", out, "-q"], check=True)
        return time.perf_counter() - t0


if __name__ == "__main__":
    main()
