"""What the outage mechanisms beyond clean crashes move on every example (prints a table).

For each topology in topologies/, one run as written and one with the mechanisms that apply
to every file switched off: no kubeadm CoreDNS (``addons: none``) and StatefulSets restarting
pods independently (``podManagementPolicy: Parallel``). Volumes, ``dependsOn`` and bad
releases apply only where a file declares them, so the same switch-off leaves them as
written. Both runs use the same seed and failures (common random numbers), importance or
plain sampling as ``auto`` picks. Printed per workload: downtime minutes a year with and
without, and the share of requests served (dead endpoints still sent traffic) next to the
pod-level availability.

    python benchmarks/bench_mechanisms.py [--failures 10000] [--seed 1] [--jobs 2] [FILE ...]

The README's "What the mechanisms move" table comes from this script.
"""

from __future__ import annotations

import argparse
from pathlib import Path

from kchaos.analysis import analyze
from kchaos.model.sampling.montecarlo import run_monte_carlo
from kchaos.topology import load_topology

ROOT = Path(__file__).resolve().parent.parent


def switched_off(path: Path) -> dict:
    """Overrides giving the clean-crash model: no CoreDNS, StatefulSets Parallel."""
    cluster = load_topology(path)
    overrides: dict = {"addons": "none"}
    for i, w in enumerate(cluster.workloads):
        if w.kind == "StatefulSet" and w.name != "coredns":
            overrides[f"workloads.{i}.podManagementPolicy"] = "Parallel"
    return overrides


def figures(path: Path, overrides: dict | None, failures: int, seed: int, jobs: int) -> dict:
    cluster = load_topology(path, overrides=overrides) if overrides else load_topology(path)
    results = analyze(run_monte_carlo(cluster, failures=failures, seed=seed, jobs=jobs, sampling="auto"))
    out: dict = {"api": results["control_plane"]["downtime_minutes_per_year"]["estimate"], "workloads": {}}
    for w in results["workloads"]:
        req = w.get("request_availability") or {}
        out["workloads"][w["name"]] = (w["downtime_minutes_per_year"]["estimate"], w["availability"]["estimate"],
                          req.get("estimate"))
    return out


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("files", nargs="*", type=Path)
    parser.add_argument("--failures", type=int, default=10_000)
    parser.add_argument("--seed", type=int, default=1)
    parser.add_argument("--jobs", type=int, default=2)
    args = parser.parse_args()
    files = args.files or sorted((ROOT / "topologies").glob("*.yaml"))
    print("| topology | figure | clean crashes | as modelled | requests served |")
    print("|---|---|---|---|---|")
    for path in files:
        before = figures(path, switched_off(path), args.failures, args.seed, args.jobs)
        after = figures(path, None, args.failures, args.seed, args.jobs)
        print(f"| {path.stem} | API downtime | {before['api']:.2f} min/yr | {after['api']:.2f} min/yr | |")
        for name, (minutes, availability, served) in after["workloads"].items():
            old = before["workloads"].get(name)
            old_text = f"{old[0]:.2f} min/yr" if old else "(not present)"
            served_text = f"{100 * served:.4f}% (pods {100 * availability:.4f}%)" if served is not None else ""
            print(f"| | {name} | {old_text} | {minutes:.2f} min/yr | {served_text} |")


if __name__ == "__main__":
    main()
