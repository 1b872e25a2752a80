"""Advisories that need the scheduler: what the healthy cluster and single-domain
losses reveal (static ones come from the topology layer)."""

from __future__ import annotations

from dataclasses import replace

from ..model.cluster import Advisory, Cluster
from ..model.engine import ClusterModel
from .blast import BlastRadius


def _pct(x: float) -> str:
    return f"{100 * x:.0f}%"


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
    limit = model.utilization_limit

    # Headroom to survive each datacenter (and region) and the spread trap.
    honor_blast = None
    for kind in ("region", "datacenter"):
        doms = c.domains_of_kind(kind)
        if len(doms) < 2:
            continue
        for d in doms:
            r = blast.respond([d.index])
            if not r.nodes_lost:
                continue
            if r.pods_pending or r.workloads_unavailable:
                detail = []
                if r.pods_pending:
                    detail.append(f"{r.pods_pending} pods stay Pending")
                if r.workloads_unavailable:
                    detail.append("below minAvailable: " + ", ".join(r.workloads_unavailable))
                out.append(Advisory(f"{kind}-headroom",
                                    f"losing {kind} {d.name}: " + "; ".join(detail)))
            stuck = [name for name, n in r.pending_by_workload.items()
                     if any(w.name == name and w.spread is not None
                            and w.spread.when_unsatisfiable == "DoNotSchedule"
                            and w.spread.node_taints_policy == "Ignore" for w in c.workloads)]
            if stuck:
                if honor_blast is None:
                    honor_blast = BlastRadius(ClusterModel(_with_honor(c)))
                hr = honor_blast.respond([d.index])
                freed = [n for n in stuck if hr.pending_by_workload.get(n, 0) < r.pending_by_workload[n]]
                if freed:
                    out.append(Advisory(
                        "spread-blocks-rescheduling",
                        f"losing {kind} {d.name}: replacements of {', '.join(freed)} stay Pending because "
                        f"PodTopologySpread (DoNotSchedule, nodeTaintsPolicy: Ignore) still counts the dead "
                        f"{kind} as an empty domain (kubernetes #123019); set nodeTaintsPolicy: Honor or "
                        f"whenUnsatisfiable: ScheduleAnyway"))

    # Load concentration after the worst single server (or node) loss.
    worst = None
    for d in c.domains_of_kind("server"):
        r = blast.respond([d.index])
        if r.nodes_lost and (worst is None or r.hottest > worst[1].hottest):
            worst = (d, r)
    if worst is not None:
        d, r = worst
        if r.hottest > limit + 1e-9:
            msg = (f"losing server {d.name} pushes the hottest surviving node to {_pct(r.hottest)} "
                   f"(limit {_pct(limit)}; healthy {_pct(model.baseline_hottest)})")
            if r.pods_pending:
                msg += f" and leaves {r.pods_pending} pods Pending"
            out.append(Advisory("load-concentration", msg + "; pods do not move back after the repair"))
    return out
