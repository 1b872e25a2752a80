"""`run`'s "Fix first": concrete moves ranked by minutes a year saved per unit of cost, from the
same histories (no new simulation).

Each move is read off the causes the run already named (results.json ``attribution``) or
computed exactly:

* ``replacements Pending (spread)`` of a workload -> ``nodeTaintsPolicy: Honor``: its
  minutes of those causes, plus the exact down time of covering domains that stop covering
  it once the rule honours taints (settled again with every DoNotSchedule spread honouring
  taints: the spread-trap advisory's variant);
* ``planned: rollout wave`` -> ``strategy.maxUnavailable`` at the budget's slack;
* ``replacements Pending (capacity)`` -> one more worker in the pool with the most room per
  cost (an upper bound of what it saves: `kchaos plan` finds the count);
* a workload with no slack (``minAvailable`` = replicas) losing minutes to single outages ->
  one more replica with the budget kept;
* quorum loss -> the member placement with the same member count that keeps quorum best
  (exact quorum availability before and after).

A saving's interval combines its causes' intervals (independent, in quadrature); a saving
whose interval reaches zero is noise, not advice, and is left out.
"""

from __future__ import annotations

from math import sqrt

from ..analysis.advisories import honor_variant
from ..analysis.statistics import MINUTES_PER_YEAR
from ..model.cluster_model import ClusterModel
from ..model.scheduling.response import BlastRadius, workload_cover
from .layout import Layout
from .moves import show
from .propose import member_placements, member_sizes, quorum_level

#: Moves listed in results.json ``fix_first`` (and the report).
MAX_FIXES = 10


def _sum(rows: list[dict]) -> tuple[float, float, float]:
    total = sum(r["minutes_per_year"] for r in rows)
    low = total - sqrt(sum((r["minutes_per_year"] - r["ci95"][0]) ** 2 for r in rows))
    high = total + sqrt(sum((r["ci95"][1] - r["minutes_per_year"]) ** 2 for r in rows))
    return total, low, high


def _row(kind: str, subject: str, path: str, before, after, cost: float, saved: tuple[float, float, float],
         quantity: str, why: str) -> dict:
    est, low, high = saved
    return {"kind": kind, "subject": subject, "path": path, "from": before, "to": after, "cost": round(cost, 4),
            "minutes_per_year_saved": round(est, 4), "ci95": [round(max(low, 0.0), 4), round(high, 4)],
            "per_unit_cost": round(est / cost, 4) if cost > 0 else None, "quantity": quantity, "why": why,
            "_noise": low <= 0}


def _per_pod_cost(c, wl) -> float:
    return min((max(wl.cpu / n.capacity.cpu, wl.memory / n.capacity.memory) * c.pool_cost.get(n.pool, 1.0)
                for n in c.nodes if n.schedulable), default=0.0)


def fix_first(model: ClusterModel, results: dict) -> list[dict]:
    """The concrete moves, free ones first, then by minutes saved per unit of cost."""
    c = model.cluster
    att = results.get("attribution") or {}
    rows: list[dict] = []
    honor_gain = _honor_gains(model, _covered_minutes(model))
    for i, wl in enumerate(c.workloads):
        causes = (att.get("workloads") or {}).get(wl.name) or []
        spread = [r for r in causes if "replacements Pending (spread" in r["cause"]]
        sp = wl.spread
        if sp is not None and sp.when_unsatisfiable == "DoNotSchedule" and sp.node_taints_policy == "Ignore":
            exact = honor_gain.get(wl.name, 0.0)
            if spread or exact:
                total, low, high = _sum(spread) if spread else (0.0, 0.0, 0.0)
                rows.append(_row("spread", wl.name, f"workloads[{i}].spread.nodeTaintsPolicy", "Ignore", "Honor",
                                 0.0, (total + exact, low + exact, high + exact), f"workload {wl.name}",
                                 "a dead domain's empty count no longer holds replacements Pending"))
        wave = [r for r in causes if r["cause"] == "planned: rollout wave"]
        surge, unavailable = wl.rolling_update() if wl.kind == "Deployment" else (0, 0)
        slack = model.workload_desired[i] - model.workload_required[i]
        if wave and model.workload_desired[i] - unavailable < model.workload_required[i]:
            rows.append(_row("rollout", wl.name, f"workloads[{i}].strategy.maxUnavailable", unavailable, slack, 0.0,
                             _sum(wave), f"workload {wl.name}", "rollouts keep minAvailable ready"))
        capacity = [r for r in causes if "replacements Pending (capacity" in r["cause"]]
        if capacity and c.workers:
            pools = sorted({n.pool for n in c.nodes if n.schedulable and n.pool},
                           key=lambda p: c.pool_cost.get(p, 1.0))
            pool = pools[0]
            index = [n.pool for n in c.nodes if n.schedulable and n.pool and not n.standby]
            count = index.count(pool)
            rows.append(_row("workers", pool, f"workers[{_pool_index(c, pool)}].count", count, count + 1,
                             c.pool_cost.get(pool, 1.0), _sum(capacity), f"workload {wl.name}",
                             "room for the replacements (at most this saving; kchaos plan finds the count)"))
        single = [r for r in causes if _single_outage(r["cause"])]
        if slack <= 0 and wl.kind != "DaemonSet" and single:
            rows.append(_row("replicas", wl.name, f"workloads[{i}].replicas", wl.replicas, wl.replicas + 1,
                             _per_pod_cost(c, wl), _sum(single), f"workload {wl.name}",
                             f"one failure no longer takes it below minAvailable ({model.workload_required[i]} kept)"))
    rows += _member_fix(model)
    rows = [r for r in rows if not r.pop("_noise") and r["minutes_per_year_saved"] > 0]
    rows.sort(key=lambda r: (r["cost"] > 0, -(r["per_unit_cost"] or r["minutes_per_year_saved"])))
    return rows[:MAX_FIXES]


def _single_outage(cause: str) -> bool:
    """A cause one failure makes on its own, which a second replica on another node rides out."""
    return ("outage: recovery chain" in cause or cause == "recovery chain"
            or "outage: replacements Pending" in cause) and "control plane" not in cause


def _pool_index(c, pool: str) -> int:
    pools = list(dict.fromkeys(n.pool for n in c.nodes if n.role == "worker" and n.pool))
    return pools.index(pool)


def _covered_minutes(model: ClusterModel) -> dict[str, dict[int, float]]:
    """Per workload: each covering domain's exact down minutes a year."""
    c = model.cluster
    blast = model.blast or BlastRadius(model)
    out: dict[str, dict[int, float]] = {}
    for d, workloads in workload_cover(blast).items():
        u = c.failures[c.domains[d].kind].unavailability
        for w in workloads:
            out.setdefault(c.workloads[w].name, {})[d] = u * MINUTES_PER_YEAR
    return out


def _honor_gains(model: ClusterModel, covered: dict[str, dict[int, float]]) -> dict[str, float]:
    """Per workload whose spread (DoNotSchedule, Ignore) keeps it down after some domain's
    loss: the exact minutes a year of the domains that stop covering it with Honor. Only a
    domain whose settled loss keeps the workload down by its spread (replacements Pending)
    can stop covering it. The variant is the one the spread-trap advisory settles (every
    DoNotSchedule spread honouring taints, :func:`~kchaos.analysis.advisories.honor_variant`),
    built once per model: seconds on a thousand nodes."""
    c = model.cluster
    blast = model.blast or BlastRadius(model)
    trapped: dict[int, dict[int, float]] = {}
    for i, wl in enumerate(c.workloads):
        sp = wl.spread
        if sp is None or sp.when_unsatisfiable != "DoNotSchedule" or sp.node_taints_policy != "Ignore":
            continue
        domains = {d: minutes for d, minutes in covered.get(wl.name, {}).items()
                   if "Pending (spread" in blast.respond([d]).workload_causes.get(wl.name, "")}
        if domains:
            trapped[i] = domains
    if not trapped:
        return {}
    honored = honor_variant(model)
    return {c.workloads[i].name: sum(minutes for d, minutes in domains.items()
                                     if c.workloads[i].name not in honored.respond([d]).workloads_unavailable)
            for i, domains in trapped.items()}


def _member_fix(model: ClusterModel) -> list[dict]:
    """The member placement, same size, that keeps quorum best, when it saves API minutes."""
    c = model.cluster
    layout = Layout((), c, model, model.blast or BlastRadius(model))
    level = quorum_level(layout)
    if level is None or not c.members or c.etcd_topology not in ("stacked", "external"):
        return []
    site = level if len(c.domains_of_kind(level)) >= 3 else "datacenter"
    sizes = [n for n in member_sizes(len(c.members), None) if n == len(c.members)] or [len(c.members)]
    found, _ = member_placements(layout, {}, sizes, site, None)
    now = layout.quorum_exact
    if not found or now is None:
        return []
    best = found[0]
    from ..analysis.exact import quorum_availability

    chains = [(("new", k), *_server_chain(c, name)) for k, name in enumerate(best.after)]
    after = quorum_availability(c, chains=chains)
    saved = (after - now) * MINUTES_PER_YEAR
    if saved <= 0:
        return []
    return [_row("members", "control plane", best.path, best.before, best.after, 0.0, (saved, saved, saved), "API",
                 f"every {site} loss keeps quorum ({best.extra['moved']} member(s) moved, exact)")]


def _server_chain(c, name: str) -> tuple[int, ...]:
    d = next(x.index for x in c.domains if x.kind == "server" and x.name == name)
    out = []
    while d is not None:
        out.append(d)
        d = c.domains[d].parent
    return tuple(out)


def describe(row: dict) -> str:
    """One line for a person: the change, what it saves and what it costs."""
    value = show
    cost = "free" if row["cost"] == 0 else f"cost {row['cost']:g}"
    return (f"{row['path']}: {value(row['from'])} -> {value(row['to'])} saves {row['minutes_per_year_saved']:.3g} "
            f"min/year of {row['quantity']} ({cost}; {row['why']})")


def with_fix_first(model: ClusterModel, results: dict) -> dict:
    """``results`` with ``fix_first`` (the concrete moves) and the ``fix-first`` advisory naming
    the first of them instead of a domain to harden (a domain cannot be bought more reliable)."""
    rows = fix_first(model, results)
    results["fix_first"] = rows
    advisories = [a for a in results.get("advisories", []) if a.get("code") != "fix-first"]
    if rows:
        more = f"; {len(rows) - 1} more in Fix first" if len(rows) > 1 else ""
        advisories.append({"code": "fix-first", "severity": "info",
                           "message": f"first move: {describe(rows[0])}{more}; `kchaos plan` verifies a full plan"})
    results["advisories"] = advisories
    return results
