"""Planned disruption in the results (results.json ``maintenance``) and its advisories.

Down time is split three ways from the attribution's causes, which add up to each
quantity's downtime: *planned* (a rolling-upgrade batch out or a rollout wave, nothing
failed: causes ``planned: ...``), *overlap* (a failure struck while planned work ran:
``during maintenance: ...``) and *unplanned* (the rest). The counts (upgrades, drains, drains a
disruption budget held up, leader transfers, rollouts) are summed over the histories.
"""

from __future__ import annotations

from functools import reduce

from ..model.cluster import Advisory, Cluster
from ..model.cluster_model import ClusterModel
from ..model.controlplane.raft import transfer_gap
from ..model.workloads.rollout_waves import rolling_update
from ..model.workloads.upgrades import PlannedStats
from ..topology.units import format_duration
from .statistics import SECONDS_PER_YEAR

PLANNED, OVERLAP = "planned: ", "during maintenance: "


def split(rows: list[dict]) -> dict:
    """Planned, overlap and unplanned minutes per year of one quantity's attribution rows."""
    planned = sum(r["minutes_per_year"] for r in rows if r["cause"].startswith(PLANNED))
    overlap = sum(r["minutes_per_year"] for r in rows if r["cause"].startswith(OVERLAP))
    total = sum(r["minutes_per_year"] for r in rows)
    return {"planned_minutes_per_year": round(planned, 4), "overlap_minutes_per_year": round(overlap, 4),
            "unplanned_minutes_per_year": round(total - planned - overlap, 4)}


def transfer_gap_ms(model: ClusterModel) -> float | None:
    """The write gap of a leader transfer with every member up (the nearest member takes over)."""
    n = len(model.member_nodes)
    if n < 2:
        return None
    live = tuple(range(n))
    return min(transfer_gap(model.rtt, 0, j, live, model.quorum, model.cluster.etcd.fsync) for j in live[1:]) * 1000


def maintenance_summary(c: Cluster, model: ClusterModel, stats: list[PlannedStats], attribution: dict,
                        total_seconds: float) -> dict:
    s = reduce(PlannedStats.merge, stats, PlannedStats())
    years = total_seconds / SECONDS_PER_YEAR if total_seconds else 0.0
    plan = c.maintenance
    batch = None
    if plan is not None:
        batch = plan.batch_level or (f"{plan.batch_fraction * 100:g}%" if plan.batch_fraction is not None
                                     else plan.batch_count)
    api = split(attribution.get("api", []))
    by_budget = [{"workload": name, "min_available": model.workload_required[w], "replicas": model.workload_desired[w],
                  "drains": s.blocked_by[name]}
                 for w, name in enumerate(wl.name for wl in c.workloads) if name in s.blocked_by]
    return {
        "plan": None if plan is None else {
            "every_days": round(plan.every / 86400.0, 4), "batch": batch,
            "per_node_minutes": round(plan.per_node / 60.0, 4), "control_plane": plan.control_plane},
        "upgrades": s.upgrades,
        "upgrades_per_year": round(s.upgrades / years, 3) if years else None,
        "drains": s.drains,
        "blocked_drains": {"count": s.blocked_drains, "max_seconds": round(s.blocked_max_seconds, 3),
                           "by_budget": sorted(by_budget, key=lambda b: -b["drains"])},
        "leader_transfers": s.transfers,
        "leader_transfer_gap_ms": round(gap, 3) if (gap := transfer_gap_ms(model)) is not None else None,
        "window_hours_per_year": round(s.window_seconds / 3600.0 / years, 3) if years else None,
        "hottest_node_in_window": round(s.hottest_in_window, 4) if s.hottest_in_window is not None else None,
        "rollouts": {"count": s.rollouts, "stuck": s.rollouts_stuck, "bad": s.bad_releases},
        "api_planned_minutes_per_year": api["planned_minutes_per_year"],
        "api_overlap_minutes_per_year": api["overlap_minutes_per_year"],
        "api_unplanned_minutes_per_year": api["unplanned_minutes_per_year"],
        "workloads": {name: split(rows) for name, rows in attribution.get("workloads", {}).items()},
    }


def maintenance_advisories(c: Cluster, model: ClusterModel, summary: dict) -> list[Advisory]:
    """Budgets that disagree with the rollout strategy, and drains that budgets hold up."""
    out = []
    k = c.kubernetes
    if k.rollout_interval is not None:
        per_year = SECONDS_PER_YEAR / k.rollout_interval
        # Deployments with the same replicas, strategy and budget share one advisory.
        groups: dict[tuple[int, int, int, int], list[str]] = {}
        for w, wl in enumerate(c.workloads):
            if wl.kind != "Deployment":
                continue
            r, need = model.workload_desired[w], model.workload_required[w]
            surge, unavailable = wl.rolling_update()
            if r - unavailable < need:
                groups.setdefault((r, surge, unavailable, need), []).append(wl.name)
        for (r, surge, unavailable, need), names in groups.items():
            timeline = rolling_update(r, surge, unavailable, k.pod_startup) or []
            dip = _seconds_below(timeline, need)
            measured = [m for m in (summary["workloads"].get(n, {}).get("planned_minutes_per_year") for n in names) if m]
            figure = (f"{min(measured):.3g}" + (f"-{max(measured):.3g}" if max(measured) > min(measured) else "")
                      + " min/year measured") if measured else f"about {dip * per_year / 60:.3g} min/year"
            who = names[0] if len(names) == 1 else \
                f"each of {len(names)} Deployments ({', '.join(names[:4])}{', ...' if len(names) > 4 else ''})"
            out.append(Advisory(
                "rollout-below-budget",
                f"rollouts take {who} below minAvailable: maxUnavailable {unavailable} of {r} replicas "
                f"leaves {r - unavailable} ready, but minAvailable is {need}; each rollout is down about "
                f"{format_duration(dip)} ({figure} at one rollout every {format_duration(k.rollout_interval)}); "
                f"set strategy maxUnavailable: 0 (maxSurge takes over, if there is room for the surge pods) "
                f"or minAvailable: {r - unavailable}", "warning", names[0] if len(names) == 1 else ""))
    blocked = summary["blocked_drains"]
    for b in blocked["by_budget"]:
        never = b["min_available"] >= b["replicas"]
        out.append(Advisory(
            "drain-blocked",
            f"drains wait for the disruption budget of {b['workload']} (minAvailable {b['min_available']} of "
            f"{b['replicas']} replicas): {b['drains']} drains held up, the longest "
            f"{format_duration(blocked['max_seconds'])}"
            + ("; with minAvailable equal to replicas no pod may ever be evicted, so kubectl drain waits for ever "
               "and the upgrade stalls with the node cordoned; allow one disruption (minAvailable "
               f"{b['replicas'] - 1}) or add a replica" if never else
               "; each blocked drain waits until a replacement elsewhere is Ready"),
            "warning" if never else "info", b["workload"]))
    return out


def _seconds_below(timeline: list[tuple[float, int]], need: int) -> float:
    total = 0.0
    for (t0, ready), (t1, _) in zip(timeline, timeline[1:]):
        if ready < need:
            total += t1 - t0
    return total
