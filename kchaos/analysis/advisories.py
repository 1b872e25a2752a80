"""Advisories that need the scheduler or the simulation: what the healthy cluster,
single-domain losses and the run itself reveal (static ones come from the
topology layer). Domains with the same finding share one advisory."""

from __future__ import annotations

from dataclasses import replace
from math import floor, log10

from ..model.cluster import Advisory, Cluster
from ..model.engine import ClusterModel
from ..model.response import BlastRadius
from .statistics import SECONDS_PER_YEAR

PLURAL = {"region": "regions", "datacenter": "datacenters", "rack": "racks", "server": "servers"}


def _pct(x: float) -> str:
    return f"{100 * x:.0f}%"


def _pct_availability(a: float) -> str:
    """Enough decimals to keep two significant digits of the unavailability."""
    u = (1.0 - a) * 100.0
    decimals = 1 if u <= 0 else max(1, min(9, int(-floor(log10(u))) + 1))
    return f"{100 * a:.{decimals}f}%"


def _names(kind: str, names: list[str], total: int) -> str:
    """'datacenter dc-a' or 'any of datacenters a-1, a-2 (all 6)'."""
    if len(names) == 1:
        return f"{kind} {names[0]}"
    shown = ", ".join(names[:6]) + (f" and {len(names) - 6} more" if len(names) > 6 else "")
    every = f" (every one of the {total})" if len(names) == total else ""
    return f"any one of {PLURAL[kind]} {shown}{every}"


def _with_honor(cluster: Cluster) -> Cluster:
    workloads = tuple(
        replace(w, spread=replace(w.spread, node_taints_policy="Honor"))
        if w.spread is not None and w.spread.when_unsatisfiable == "DoNotSchedule" else w
        for w in cluster.workloads)
    return replace(cluster, workloads=workloads)


def dynamic_advisories(model: ClusterModel, blast: BlastRadius) -> list[Advisory]:
    c = model.cluster
    out: list[Advisory] = []
    # Workloads that do not fit even with every node up.
    for w, wl in enumerate(c.workloads):
        pending = sum(1 for p in model.workload_pods[w] if model.baseline.pod_node[p] < 0)
        if pending:
            out.append(Advisory("unschedulable-workload",
                                f"{wl.name}: {pending} of {model.workload_desired[w]} pods cannot be scheduled "
                                f"even with every node up (capacity, spread or volume scope)"))
    if not model.workers:
        return out
    out += _headroom(model, blast)
    out += _load_concentration(model, blast)
    return out


def _headroom(model: ClusterModel, blast: BlastRadius) -> list[Advisory]:
    """Headroom to survive each region and datacenter, and the PodTopologySpread trap."""
    c = model.cluster
    out: list[Advisory] = []
    honor_blast = None
    for kind in ("region", "datacenter"):
        doms = [d for d in c.domains_of_kind(kind) if blast.respond([d.index]).nodes_lost]
        if len(c.domains_of_kind(kind)) < 2 or not doms:
            continue
        headroom: dict[str, list[str]] = {}
        trapped: dict[str, list[str]] = {}
        for d in doms:
            r = blast.respond([d.index])
            stuck = [name for name in r.pending_by_workload
                     if any(w.name == name and w.spread is not None
                            and w.spread.when_unsatisfiable == "DoNotSchedule"
                            and w.spread.node_taints_policy == "Ignore" for w in c.workloads)]
            fixed = r
            if stuck:
                if honor_blast is None:
                    honor_blast = BlastRadius(ClusterModel(_with_honor(c)))
                fixed = honor_blast.respond([d.index])
                freed = [n for n in stuck if fixed.pending_by_workload.get(n, 0) < r.pending_by_workload[n]]
                if freed:
                    trapped.setdefault(", ".join(sorted(freed)), []).append(d.name)
            # Headroom: what stays Pending or unavailable even once the spread trap is fixed.
            detail = []
            if fixed.pods_pending:
                detail.append(f"{fixed.pods_pending} pods stay Pending")
            if fixed.workloads_unavailable:
                detail.append("below minAvailable: " + ", ".join(fixed.workloads_unavailable))
            if detail:
                headroom.setdefault("; ".join(detail), []).append(d.name)
        total = len(doms)
        for detail, names in headroom.items():
            out.append(Advisory(f"{kind}-headroom", f"losing {_names(kind, names, total)}: {detail}"))
        for workloads, names in trapped.items():
            out.append(Advisory(
                "spread-blocks-rescheduling",
                f"losing {_names(kind, names, total)}: replacements of {workloads} stay Pending because "
                f"PodTopologySpread (DoNotSchedule, nodeTaintsPolicy: Ignore) still counts the dead {kind} "
                f"as an empty domain (kubernetes #123019); set nodeTaintsPolicy: Honor or "
                f"whenUnsatisfiable: ScheduleAnyway"))
    return out


def _load_concentration(model: ClusterModel, blast: BlastRadius) -> list[Advisory]:
    """The worst single server loss: how hot the survivors run."""
    worst = None
    for d in model.cluster.domains_of_kind("server"):
        r = blast.respond([d.index])
        if r.nodes_lost and (worst is None or r.hottest > worst[1].hottest + 1e-12):
            worst = (d, r)
    if worst is None:
        return []
    d, r = worst
    limit = model.utilization_limit
    if r.hottest <= limit + 1e-9:
        return []
    msg = (f"losing server {d.name} pushes the hottest surviving node to {_pct(r.hottest)} "
           f"(limit {_pct(limit)}; healthy {_pct(model.baseline_hottest)})")
    if r.pods_pending:
        msg += f" and leaves {r.pods_pending} pods Pending"
    return [Advisory("load-concentration", msg + "; pods do not move back after the repair")]


def undersampling_advisory(cluster: Cluster, exact_availability: float | None, estimate: float,
                           simulated_seconds: float) -> list[Advisory]:
    """The exact quorum answer says rare outages matter more than this run saw."""
    if exact_availability is None or simulated_seconds <= 0:
        return []
    exact_u, est_u = 1.0 - exact_availability, 1.0 - estimate
    # Only when it matters: at least an hour of quorum loss expected over the simulated time.
    if exact_u * simulated_seconds < 3600.0 or exact_u < 3.0 * est_u:
        return []
    # The single domain whose loss alone costs quorum with the largest share of the exact answer.
    blast_terms = []
    q = cluster.quorum
    for d in cluster.domains:
        spec = cluster.failures.get(d.kind)
        if d.kind == "regionLink" or spec is None or spec.ttf is None:
            continue
        held = sum(1 for m in cluster.members if d.index in (cluster.nodes[m].domain, *cluster.nodes[m].ancestors))
        if len(cluster.members) - held < q:
            blast_terms.append((spec.unavailability, d, spec))
    msg = (f"rare outages dominate: the exact quorum availability ({_pct_availability(exact_availability)}) "
           f"is well below what this run happened to draw ({_pct_availability(estimate)})")
    if blast_terms:
        p, d, spec = max(blast_terms, key=lambda x: x[0])
        expected = simulated_seconds / (spec.ttf.mean + spec.ttr.mean)
        years = spec.ttf.mean / SECONDS_PER_YEAR
        msg += (f"; the largest term is {d.kind} {d.name} (down {spec.ttr.mean / 3600:g} h about every "
                f"{years:g} years: {expected:.1f} such failures expected in this run)")
    msg += ("; the API and workload figures already add the exact down time of outages one domain causes "
            "on its own, so only the simulated quorum figure is affected")
    return [Advisory("rare-outages-undersampled", msg)]
