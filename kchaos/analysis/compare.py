"""Comparing variants: etcd sizes of one topology, or several topologies.

Variants share random streams (common random numbers): every variant simulates
the same histories of the same length, and an instance that exists in several
variants (a server, a rack, a worker node) fails at the same moments in each,
so differences come from the layouts, not from luck.
"""

from __future__ import annotations

import re
from typing import Callable

from ..errors import KchaosUsageError
from ..model.cluster import Cluster
from ..model.sampling.failures import StationarySampler
from ..model.sampling.montecarlo import history_plan, run_monte_carlo
from . import analyze

CRN_NOTE = ("Variants share random streams (common random numbers): the same simulated histories, "
            "and every failure instance present in several variants fails at the same moments in each.")


def parse_sizes(text: str) -> list[int]:
    """``1-7``, ``3,4,5`` or ``3-5,7`` -> sorted member counts, each 1..7."""
    sizes: set[int] = set()
    for part in text.split(","):
        part = part.strip()
        m = re.fullmatch(r"(\d+)\s*-\s*(\d+)", part)
        if m:
            lo, hi = int(m.group(1)), int(m.group(2))
            if lo > hi:
                raise KchaosUsageError(f"--etcd-sizes {text}: range {part} runs backwards")
            sizes.update(range(lo, hi + 1))
        elif part.isdigit():
            sizes.add(int(part))
        else:
            raise KchaosUsageError(f"--etcd-sizes {text}: expected sizes like 1-7 or 3,4,5, got {part!r}")
    bad = sorted(s for s in sizes if not 1 <= s <= 7)
    if bad:
        raise KchaosUsageError(f"--etcd-sizes {text}: etcd members must be between 1 and 7, got "
                               + ", ".join(str(b) for b in bad))
    return sorted(sizes)


def run_variants(variants: list[tuple[str, Cluster]], failures: int, seed: int, jobs: int = 1,
                 progress: Callable[[int], None] | None = None, dask: str | None = None) -> list[dict]:
    """Simulate each variant on shared streams; one results document per variant."""
    rates = [StationarySampler(c).failure_rate for _, c in variants]
    mean_rate = sum(rates) / len(rates)
    plan = history_plan(failures, mean_rate, variants[0][1])
    out = []
    done = 0
    for (label, cluster) in variants:
        def tick(n, base=done):
            if progress:
                progress(base + n)
        try:
            sim = run_monte_carlo(cluster, failures=failures, seed=seed, jobs=jobs, progress=tick, fixed=plan,
                                  dask=dask)
        except KeyboardInterrupt:  # before any history of this variant: the ones done so far stand
            if not out:
                raise
            break
        results = analyze(sim)
        results["variant"] = label
        results["run"]["common_random_numbers"] = True
        out.append(results)
        done += results["run"]["failures_injected"]
        if sim.partial:
            break
    return out


def comparison_table(results: list[dict]) -> list[dict]:
    """Flat rows, one per variant: the figures people compare."""
    rows = []
    for r in results:
        cp = r["control_plane"]
        load = r["load"]
        rows.append({
            "variant": r["variant"], "members": cp["members"], "quorum": cp["quorum"], "tolerates": cp["tolerates"],
            "availability": cp["availability"]["estimate"], "ci95": cp["availability"]["ci95"],
            "quorum_availability": cp["quorum_availability"]["estimate"],
            "quorum_ci95": cp["quorum_availability"]["ci95"],
            "quorum_exact": cp["quorum_availability"].get("exact"),
            "downtime_minutes_per_year": cp["downtime_minutes_per_year"]["estimate"],
            "elections_per_year": cp["leader_elections"].get("per_year"),
            "commit_p50_ms": cp["write_commit_ms"]["p50"], "commit_p99_ms": cp["write_commit_ms"]["p99"],
            "hottest_p95": load["max_node_utilization"]["p95"],
            "advisories": [a["code"] for a in r["advisories"]],
        })
    return rows
