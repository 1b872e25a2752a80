"""The path most users take: default failure rates, where `--sampling auto` picks importance sampling.

On benchmarks/medium-default-rates.yaml (topologies/benchmark-5-members.yaml's layout with the
default, exponential, failure rates), prints:

1. 10,000 failures in one process (`--jobs 1`): CPU of the importance-sampled run (what `auto`
   picks) against `--sampling plain`, taken back to back (target: at most 1.5x);
2. the whole process with the default `--jobs`, against topologies/benchmark-5-members.yaml
   (target: no slower);
3. `--precision 10%`: wall, CPU, failures and each headline figure's status (target: every
   figure within 10% in at most 20 s).

    python benchmarks/bench_default_rates.py [--repeat 5] [--failures 10000] [--skip PART ...]
"""

from __future__ import annotations

import argparse
import json
import sys
import tempfile
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))

from timing import ROOT, describe, interleaved, kchaos, median  # noqa: E402

MEDIUM = "benchmarks/medium-default-rates.yaml"
BENCHMARK = "topologies/benchmark-5-members.yaml"


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--repeat", type=int, default=5)
    parser.add_argument("--failures", type=int, default=10_000)
    parser.add_argument("--skip", nargs="*", default=[], choices=["sampling", "whole", "precision"])
    args = parser.parse_args()
    n = str(args.failures)
    with tempfile.TemporaryDirectory() as tmp:
        if "sampling" not in args.skip:
            print(f"1. {MEDIUM}, {args.failures:,} failures, --jobs 1 (median of {args.repeat}, interleaved)")
            runs = interleaved({s: ["run", MEDIUM, "-n", n, "-j", "1", "-q", "--sampling", s, "-o", tmp]
                                for s in ("auto", "plain")}, args.repeat)
            for name, timings in runs.items():
                print(f"   {name:<10} {describe(timings)}")
            ratio = median(runs["auto"], "cpu") / median(runs["plain"], "cpu")
            pairs = sorted(a.cpu / p.cpu for a, p in zip(runs["auto"], runs["plain"]))
            print(f"   importance-sampled / plain CPU: {ratio:.2f}x (pairs {pairs[0]:.2f}-{pairs[-1]:.2f}; target 1.5x)")
        if "whole" not in args.skip:
            print(f"2. whole process, {args.failures:,} failures, default --jobs (median of {args.repeat}, interleaved)")
            runs = interleaved({name: ["run", path, "-n", n, "-q", "-o", tmp]
                                for name, path in (("default-rates", MEDIUM), ("benchmark", BENCHMARK))}, args.repeat)
            for name, timings in runs.items():
                print(f"   {name:<14} {describe(timings)}")
            ratio = median(runs["default-rates"], "wall") / median(runs["benchmark"], "wall")
            print(f"   default-rates / benchmark wall: {ratio:.2f}x (target: at most 1)")
        if "precision" not in args.skip:
            out = Path(tmp) / "precision"
            timing = kchaos("run", MEDIUM, "--precision", "10%", "-q", "-o", str(out))
            print(f"3. {MEDIUM} --precision 10%: {timing}  {timing.status}")
            if timing.status == "ok":
                run = json.loads((out / "results.json").read_text())["run"]
                p = run["precision"]
                print(f"   {run['failures_injected']:,} failures, {len(p['batches'])} batches, "
                      f"stopped by {p['stopped_by']}; reached: {p['reached']}")
                for f in p["figures"]:
                    rel = f["relative_half_width"]
                    print(f"   {f['figure']:<24} ±{'n/a' if rel is None else f'{100 * rel:.1f}%':>7}  {f['status']}")
    print(f"(from {ROOT}; python {sys.version.split()[0]})")


if __name__ == "__main__":
    main()
