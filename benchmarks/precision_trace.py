"""How many failures (and CPU seconds) each headline figure needs to reach a precision.

Runs one process (``--jobs 1``, so its own CPU time is the run's) in batches that grow by
``--growth``, and after each batch prints every headline figure's 95% half-width relative to its
estimate and whether it is within ``--precision`` (or under its absolute floor). At the end:
per figure, the failures and CPU seconds at the first batch where it was within the precision.

    python benchmarks/precision_trace.py [TOPOLOGY] [--seed 1] [--precision 0.1] [--max-failures 400000]
"""

from __future__ import annotations

import argparse
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from kchaos.analysis.precision import (FAILURES_PER_HISTORY, NOT_REACHED, REACHED, figures,  # noqa: E402
                                       half_width, status)
from kchaos.model.sampling.montecarlo import TARGET_HISTORIES, Campaign, history_range  # noqa: E402
from kchaos.topology.loader import load_topology  # noqa: E402


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("topology", nargs="?", default="benchmarks/medium-default-rates.yaml")
    parser.add_argument("--seed", type=int, default=1)
    parser.add_argument("--precision", type=float, default=0.10)
    parser.add_argument("--growth", type=float, default=1.25)
    parser.add_argument("--max-failures", type=int, default=400_000)
    args = parser.parse_args()
    cluster = load_topology(args.topology)
    reached: dict[str, tuple[int, float]] = {}
    cpu0 = time.process_time()
    with Campaign(cluster, args.seed, 1, sampling="auto") as campaign:
        horizon = FAILURES_PER_HISTORY / campaign.sampler.failure_rate
        done, total = 0, TARGET_HISTORIES
        while True:
            campaign.play(history_range(campaign.sampler, done, total, horizon, args.seed), total - done)
            done = len(campaign.results)
            cpu = time.process_time() - cpu0
            intervals = figures(campaign.output(None))
            row = []
            for name, iv in intervals.items():
                st = status(name, iv, args.precision)
                rel = half_width(iv) / iv.estimate if iv.estimate > 0 else float("inf")
                row.append(f"{name.split('.')[-1]}={100 * rel:.0f}%{'*' if st == REACHED else ''}")
                if st == REACHED:
                    reached.setdefault(name, (campaign.done, cpu))
            print(f"{campaign.done:>8} failures {cpu:7.1f} cpu-s  " + " ".join(row), flush=True)
            open_ = [n for n, iv in intervals.items() if status(n, iv, args.precision) == NOT_REACHED]
            if not open_ or campaign.done >= args.max_failures:
                break
            total = max(done + 1, int(done * args.growth))
    print("first within the precision (failures, CPU seconds):")
    for name in intervals:
        f, c = reached.get(name, (None, None))
        print(f"  {name:<26} {'never' if f is None else f'{f:>8,}  {c:6.1f} s'}")


if __name__ == "__main__":
    main()
