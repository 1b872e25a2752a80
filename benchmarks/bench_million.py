"""A million failures: whole-process time and memory against 10,000 failures.

Target: 1,000,000 failures of topologies/benchmark-5-members.yaml in at most 150 s on 2 cores,
with flat memory (peak RSS at most 1.5x that of 10,000 failures): distributions are streamed
into fixed log bins and each history keeps sums, not events.

    python benchmarks/bench_million.py [--topology PATH] [--failures 10000,1000000] [--jobs 2]
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
    parser.add_argument("--failures", default="10000,1000000")
    parser.add_argument("--jobs", type=int, default=2)
    args = parser.parse_args()
    first = None
    for n in (int(x) for x in args.failures.split(",")):
        with tempfile.TemporaryDirectory() as tmp:
            t = kchaos("run", args.topology, "-n", str(n), "-j", str(args.jobs), "-q", "-o", tmp)
        first = first or t
        print(f"{n:>10,} failures  {t}  RSS {t.peak_rss / first.peak_rss:.2f}x of the first  "
              f"{n / t.cpu:,.0f} failures per CPU second  {t.status}", flush=True)


if __name__ == "__main__":
    main()
