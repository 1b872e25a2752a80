"""Availability targets (the topology's ``slo`` section) judged against the results.

A target passes when the estimate meets it. When the target lies inside the 95%
interval the verdict stands but is flagged as not yet statistically confirmed,
with the number of failures that would confirm it.
"""

from __future__ import annotations

from ..model.cluster import Cluster
from .statistics import Interval, confirm_failures
from .survive import survive_checks


def _availability_check(name: str, target: float, block: dict, failures: int, interval: Interval) -> dict:
    est = block["estimate"]
    lo, hi = block["ci95"]
    passed = est >= target
    confirmed = lo >= target if passed else hi < target
    to_confirm = None
    if not confirmed:
        to_confirm = confirm_failures(interval, 1 - target, failures)
    return {"name": name, "target": target, "estimate": est, "ci95": [lo, hi], "passed": passed,
            "confirmed": confirmed, "failures_to_confirm": to_confirm}


def evaluate(cluster: Cluster, results: dict, intervals: dict[str, Interval]) -> dict:
    """The ``slo`` block of results.json; ``intervals`` are the unavailability intervals behind
    the availability figures, by target name (they say how a longer run would narrow them)."""
    slo = cluster.slo
    failures = results["run"]["failures_injected"]
    checks = []
    if slo.control_plane is not None:
        checks.append(_availability_check("controlPlane", slo.control_plane,
                                          results["control_plane"]["availability"], failures,
                                          intervals["controlPlane"]))
    by_name = {w["name"]: w for w in results["workloads"]}
    for name, target in slo.workloads.items():
        checks.append(_availability_check(f"workloads.{name}", target, by_name[name]["availability"], failures,
                                          intervals[f"workloads.{name}"]))
    load = results["load"]
    if slo.max_node_utilization is not None:
        p95 = load["max_node_utilization"]["p95"]
        est = p95 if p95 is not None else load["baseline_max_node_utilization"]
        checks.append({"name": "maxNodeUtilization", "target": slo.max_node_utilization, "estimate": est,
                       "ci95": None, "passed": est <= slo.max_node_utilization + 1e-9, "confirmed": True,
                       "failures_to_confirm": None,
                       "detail": "p95 over failures of the hottest surviving node after rescheduling"})
    if slo.max_pending_pods is not None:
        est = load["pending_pods"]["max"]
        checks.append({"name": "maxPendingPods", "target": slo.max_pending_pods, "estimate": est, "ci95": None,
                       "passed": est <= slo.max_pending_pods, "confirmed": True, "failures_to_confirm": None,
                       "detail": "most pods Pending at once during the run"})
    checks += survive_checks(results.get("survive"))
    return {"passed": all(ch["passed"] for ch in checks), "checks": checks}
