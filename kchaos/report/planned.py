"""The run report's "planned maintenance" section, from results.json's ``maintenance``:
planned, overlapping and unplanned minutes side by side, what the upgrades did, and how hot
the surviving nodes ran while a batch was out."""

from __future__ import annotations

from kchaos.report.downtime import MAX_WORKLOADS
from kchaos.report.reading import largest_in_order
from kchaos.report.formatting import (format_count, format_duration, format_percent, get, minutes_figure, num,
                                      significant, simulated_years)


def planned(r: dict) -> dict:
    """{"rows": [...], "facts": [...], "note": str}; no rows when the results carry no block."""
    m = get(r, "maintenance", default=None)
    if not isinstance(m, dict):
        return {"rows": [], "facts": [], "note": "The results carry no maintenance figures."}
    rows = [_row("API", get(m, "api_planned_minutes_per_year"), get(m, "api_overlap_minutes_per_year"),
                 get(m, "api_unplanned_minutes_per_year"))]
    workloads = list((get(m, "workloads", default={}) or {}).items())
    # Hundreds of workloads: the ones planned work costs the most (in the document's order).
    keep = largest_in_order(workloads, lambda nw: _planned_part(nw[1]), MAX_WORKLOADS)
    for name, w in keep:
        rows.append(_row(f"workload {name}", get(w, "planned_minutes_per_year"),
                         get(w, "overlap_minutes_per_year"), get(w, "unplanned_minutes_per_year")))
    left_out = len(workloads) - len(keep)
    facts = []
    years = simulated_years(get(r, "run", default={}))
    plan = get(m, "plan")
    if isinstance(plan, dict):
        facts.append(f"Rolling upgrade every {significant(num(get(plan, 'every_days')) or 0, 3)} days, "
                     f"batch {get(plan, 'batch')}, {significant(num(get(plan, 'per_node_minutes')) or 0, 3)} min per node"
                     + (", control plane first (the etcd leader last)" if get(plan, "control_plane") else "")
                     + f": {significant(num(get(m, 'upgrades_per_year')) or 0, 3)} upgrades a year completed, "
                       f"{_per_year(get(m, 'drains'), years)} drains a year, a batch out "
                       f"{significant(num(get(m, 'window_hours_per_year')) or 0, 3)} h a year.")
        blocked = get(m, "blocked_drains", default={}) or {}
        if num(get(blocked, "count")):
            budgets = ", ".join(f"{b['workload']} (minAvailable {b['min_available']} of {b['replicas']}, "
                                f"{format_count(b['drains'])} drains)" for b in get(blocked, "by_budget", default=[]))
            facts.append(f"{format_count(get(blocked, 'count'))} drains waited for a disruption budget, the longest "
                         f"{format_duration(get(blocked, 'max_seconds'))}: {budgets}.")
        else:
            facts.append("No drain ever waited for a disruption budget.")
        if num(get(m, "leader_transfers")):
            gap = significant(num(get(m, "leader_transfer_gap_ms")) or 0, 3)
            facts.append(f"{format_count(get(m, 'leader_transfers'))} etcd leader transfers (the leader stops "
                         f"gracefully and hands over: writes pause about {gap} ms, not an election timeout).")
        hot = num(get(m, "hottest_node_in_window"))
        if hot is not None:
            facts.append(f"Hottest node while a batch was out: {format_percent(hot)} (before any failure: "
                         f"{format_percent(get(r, 'load', 'baseline_max_node_utilization'))}, limit "
                         f"{format_percent(get(r, 'load', 'limit'))}).")
    rollouts = get(m, "rollouts", default={}) or {}
    if num(get(rollouts, "count")):
        facts.append(f"{_per_year(get(rollouts, 'count'), years)} Deployment rollouts a year, each in the Deployment "
                     "controller's RollingUpdate waves (maxSurge, maxUnavailable).")
    if num(get(rollouts, "stuck")):
        facts.append(f"{format_count(get(rollouts, 'stuck'))} of {format_count(get(rollouts, 'count'))} rollouts could "
                     "not progress: no room for surge pods and maxUnavailable 0.")
    any_planned = any(row["planned"] != "0" or row["overlap"] != "0" for row in rows)
    note = "" if any_planned or plan else ("No planned downtime: rollouts never take a workload below minAvailable. "
                                           "Add a maintenance: section to simulate rolling upgrades.")
    shown = (f"The {len(keep)} workloads planned work costs the most are shown; {left_out} more are in "
             f"results.json (maintenance).") if left_out else ""
    return {"rows": rows if (any_planned or plan) else [], "facts": facts, "note": note, "shown": shown}


def _per_year(count, years: float | None) -> str:
    """A count of the run as a rate per simulated year (drains and rollouts keep their own
    schedule, so this is their natural rate whatever the sampling)."""
    n = num(count)
    if n is None or not years:
        return format_count(count)
    return significant(n / years, 3)


def _planned_part(w: dict) -> float:
    return (num(get(w, "planned_minutes_per_year")) or 0.0) + (num(get(w, "overlap_minutes_per_year")) or 0.0)


def _row(label: str, planned_min, overlap, unplanned) -> dict:
    total = sum(num(x) or 0.0 for x in (planned_min, overlap, unplanned))
    return {"label": label, "planned": minutes_figure(planned_min), "overlap": minutes_figure(overlap),
            "unplanned": minutes_figure(unplanned), "total": minutes_figure(total)}
