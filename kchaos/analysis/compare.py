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
from .precision import FAILURES_PER_HISTORY, Precision, variants_to_precision

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
                 progress: Callable[[int], None] | None = None, dask: str | None = None,
                 precision: Precision | None = None) -> list[dict]:
    """Simulate each variant on shared streams; one results document per variant. With
    ``precision``, in rounds until every variant's headline figures are tight
    (:func:`.precision.variants_to_precision`) instead of ``failures``."""
    rates = [StationarySampler(c).failure_rate for _, c in variants]
    mean_rate = sum(rates) / len(rates)
    if precision is not None:
        outputs = variants_to_precision([c for _, c in variants], precision, seed, jobs, dask,
                                        horizon_rate=mean_rate, progress=progress)
        horizon = FAILURES_PER_HISTORY / mean_rate
        return [_labelled(_with_ends(analyze(sim), sim, (len(sim.histories), horizon), seed, jobs, dask), label)
                for (label, _), sim in zip(variants, outputs)]
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
        out.append(_labelled(_with_ends(analyze(sim), sim, plan, seed, jobs, dask), label))
        done += out[-1]["run"]["failures_injected"]
        if sim.partial:
            break
    return out


def _with_ends(results: dict, sim, plan: tuple[int, float], seed: int, jobs: int, dask: str | None) -> dict:
    """A variant with uncertain inputs: each end of their ranges simulated on the same plan."""
    if sim.cluster.uncertain_inputs and not sim.partial:
        from .inputs import simulate_ends

        simulate_ends(results, sim, lambda c, model, part: run_monte_carlo(
            c, failures=max(1, results["run"]["failures_injected"]), seed=seed, jobs=jobs, fixed=plan, dask=dask,
            model=model), analyze)
    return results


def _labelled(results: dict, label: str) -> dict:
    results["variant"] = label
    results["run"]["common_random_numbers"] = True
    return results


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


def verdict(results: list[dict]) -> dict:
    """What the comparison says, for people: the variant with the most available API, how much
    less downtime it has than the next best and whether that difference is real (paired on the
    shared histories, one-sided at 1%: see :mod:`.gate`); per workload, the most available
    variant; which variants miss an SLO target. Labels are the variants' ``variant``."""
    from .gate import critical, difference
    from .statistics import MINUTES_PER_YEAR

    def availability(r: dict, name: str) -> dict | None:
        if name == "controlPlane":
            return r["control_plane"]["availability"]
        return next((w["availability"] for w in r["workloads"] if f"workloads.{w['name']}" == name), None)

    def ranking(name: str) -> dict | None:
        present = [(r, availability(r, name)) for r in results]
        present = [(r, a) for r, a in present if a is not None and a.get("estimate") is not None]
        if not present:
            return None
        present.sort(key=lambda ra: -ra[1]["estimate"])
        best, block = present[0]
        out = {"best": best["variant"], "availability": block["estimate"], "ci95": block.get("ci95"),
               "variants": len(present)}
        if len(present) > 1:
            other, other_block = present[1]
            increase, se, df, paired = difference(other, best, name, other_block, block)
            out.update(next=other["variant"], minutes_less=float(f"{increase * MINUTES_PER_YEAR:.6g}"),
                       paired=paired, real=increase > critical(df) * se if se > 0 else increase > 0)
        return out

    names = {f"workloads.{w['name']}" for r in results for w in r["workloads"]}
    ordered = [n for n in dict.fromkeys(f"workloads.{w['name']}" for r in results for w in r["workloads"])]
    missed = {r["variant"]: [ch["name"] for ch in r["slo"]["checks"] if not ch["passed"]]
              for r in results if r.get("slo")}
    return {"api": ranking("controlPlane"),
            "workloads": {n.removeprefix("workloads."): ranking(n) for n in ordered if n in names},
            "slo_missed": {label: names_ for label, names_ in missed.items() if names_},
            "slo_targets": any(r.get("slo", {}).get("checks") for r in results)}
