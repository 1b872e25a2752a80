"""Advisories that need the scheduler or the simulation: what the healthy cluster,
single-domain losses and the run itself reveal (static ones come from the
topology layer). Domains with the same finding share one advisory."""

from __future__ import annotations

from dataclasses import replace
from math import floor, log10

from ..model.cluster import Advisory, Cluster
from ..model.engine import ClusterModel
from ..model.sampling.pools import settle_on_pool
from ..model.scheduling.response import BlastRadius
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


def layout_findings(model: ClusterModel) -> list[Advisory]:
    """The topology's static advisories completed by placing every pod with every node up:
    a workload with Pods that can never all be scheduled is an error (`validate` exits 1),
    said once per workload with kube-scheduler's reason; a cluster-wide shortfall names the
    workloads it leaves Pending. Errors come first."""
    c = model.cluster
    said = {a.subject for a in c.advisories if a.severity == "error" and a.subject}
    pending = []
    for w, wl in enumerate(c.workloads):
        pods = [p for p in model.workload_pods[w] if model.baseline.pod_node[p] < 0]
        if pods and wl.name not in said:
            pending.append((wl.name, len(pods), model.workload_desired[w], pods[0]))
    out: list[Advisory] = []
    for a in c.advisories:
        if a.code == "insufficient-capacity" and pending:
            a = replace(a, message=a.message + "; Pending: " + ", ".join(
                f"{name} {n} of {desired}" for name, n, desired, _ in pending))
            pending = []
        out.append(a)
    for name, n, desired, pod in pending if model.workers else []:
        out.append(Advisory(
            "unschedulable-workload",
            f"workload '{name}': {n} of {desired} pods cannot be scheduled even with every node up: "
            f"{model.scheduler.explain(model.baseline, pod, model.baseline_scope[pod])}", "error", name))
    return sorted(out, key=lambda a: a.severity != "error")


def dynamic_advisories(model: ClusterModel, blast: BlastRadius, jobs: int = 1) -> list[Advisory]:
    """What single-domain losses reveal: headroom, the spread trap, load concentration
    (``jobs`` local processes settle what the run has not settled yet, on large clusters)."""
    if not model.workers:
        return []
    return _headroom(model, blast, jobs) + _load_concentration(model, blast)


def _stuck(model: ClusterModel, response) -> list[str]:
    """Workloads left Pending by ``response`` whose spread counts dead domains (DoNotSchedule,
    nodeTaintsPolicy: Ignore), in workload order: the spread trap's suspects."""
    index = {w.name: i for i, w in enumerate(model.cluster.workloads)}
    trap = {w.name for w in model.cluster.workloads if w.spread is not None
            and w.spread.when_unsatisfiable == "DoNotSchedule" and w.spread.node_taints_policy == "Ignore"}
    return [name for name in sorted(response.pending_by_workload, key=index.get) if name in trap]


def honor_variant(model: ClusterModel, domains: list[int] = (), jobs: int = 1) -> BlastRadius:
    """The same cluster with every DoNotSchedule spread honouring taints, with ``domains``
    settled (on a pool of ``jobs`` processes for a large cluster: a region of a 5,000-node
    cluster takes seconds). Built once per model and kept on it (``model.honor_blast``): the
    spread-trap advisory and Fix first's Honor gain read the same responses."""
    honor = getattr(model, "honor_blast", None)
    if honor is None:
        honor = model.honor_blast = BlastRadius(ClusterModel(_with_honor(model.cluster)))
    settle_on_pool(honor, list(domains), jobs)
    return honor


_LEVEL_ORDER = ("server", "rack", "datacenter", "region")
_ZONE_LABEL = {"datacenter": "topology.kubernetes.io/zone", "region": "topology.kubernetes.io/region",
               "server": "kubernetes.io/hostname", "rack": "your rack label"}


def _dead_domains(model: ClusterModel, failed: int, level: str) -> list[str]:
    """Names of the ``level`` domains (with nodes) that lie wholly inside the failed domain."""
    under = set(model.nodes_under.get(failed, ()))
    return [d.name for d in model.cluster.domains_of_kind(level)
            if model.nodes_under.get(d.index) and set(model.nodes_under[d.index]) <= under]


def _where_pods_sit(model: ClusterModel, failed: int, kind: str, w: int) -> str:
    """Why losing ``failed`` takes workload ``w`` below minAvailable: how many of its pods ran
    there, and the spread that would have kept them apart."""
    wl = model.cluster.workloads[w]
    under = set(model.nodes_under.get(failed, ()))
    pods = [p for p in model.workload_pods[w] if model.baseline.pod_node[p] >= 0]
    there = sum(1 for p in pods if model.baseline.pod_node[p] in under)
    text = f"{wl.name}: {there} of its {len(pods)} pods ran there, minAvailable {model.workload_required[w]}"
    spread = wl.spread.over if wl.spread is not None else None
    if spread is not None and _LEVEL_ORDER.index(spread) >= _LEVEL_ORDER.index(kind):
        return text
    have = f"it spreads over {spread} only" if spread else "it has no spreadOver"
    hosts = [d for d in model.cluster.domains_of_kind(kind)
             if any(model.worker_mask[n] for n in model.nodes_under.get(d.index, ()))]
    left = len(pods) - -(-len(pods) // max(1, len(hosts)))  # even spread: the fullest one is lost
    if len(hosts) > 1 and left >= model.workload_required[w]:
        return text + (f" ({have}: add spreadOver: {kind}, or required pod anti-affinity on "
                       f"{_ZONE_LABEL[kind]})")
    return text + (f" ({have}; even spread over the {len(hosts)} {PLURAL[kind]} with workers would keep only "
                   f"{left}: add replicas or lower minAvailable)")


def _headroom(model: ClusterModel, blast: BlastRadius, jobs: int = 1) -> list[Advisory]:
    """Headroom to survive each region and datacenter, and the PodTopologySpread trap."""
    c = model.cluster
    out: list[Advisory] = []
    suspects = [d.index for kind in ("region", "datacenter") if len(c.domains_of_kind(kind)) >= 2
                for d in c.domains_of_kind(kind)
                if blast.respond([d.index]).nodes_lost and _stuck(model, blast.respond([d.index]))]
    honor_blast = honor_variant(model, suspects, jobs) if suspects else None
    index = {w.name: i for i, w in enumerate(c.workloads)}
    for kind in ("region", "datacenter"):
        doms = [d for d in c.domains_of_kind(kind) if blast.respond([d.index]).nodes_lost]
        if len(c.domains_of_kind(kind)) < 2 or not doms:
            continue
        headroom: dict[str, list[str]] = {}
        trapped: dict[tuple[str, str], list[tuple[str, list[str]]]] = {}
        for d in doms:
            r = blast.respond([d.index])
            stuck = _stuck(model, r)
            fixed = r
            if stuck:
                fixed = honor_blast.respond([d.index])
                for name in stuck:
                    if fixed.pending_by_workload.get(name, 0) < r.pending_by_workload[name]:
                        level = c.workloads[index[name]].spread.over
                        trapped.setdefault((name, level), []).append(
                            (d.name, _dead_domains(model, d.index, level)))
            # Headroom: what stays Pending or unavailable even once the spread trap is fixed.
            detail = []
            if fixed.pods_pending:
                detail.append(f"{fixed.pods_pending} pods stay Pending")
            if fixed.workloads_unavailable:
                detail.append("below minAvailable: " + "; ".join(
                    _where_pods_sit(model, d.index, kind, index[name]) for name in fixed.workloads_unavailable))
            if detail:
                headroom.setdefault("; ".join(detail), []).append(d.name)
        total = len(doms)
        for detail, names in headroom.items():
            out.append(Advisory(f"{kind}-headroom", f"losing {_names(kind, names, total)}: {detail}"))
        for (workload, level), hits in trapped.items():
            names = [name for name, _ in hits]
            if all(dead == [name] for name, dead in hits):
                dead_text = f"the dead {kind}"
            else:
                dead = sorted({x for _, ds in hits for x in ds})
                shown = ", ".join(dead[:8]) + (f" and {len(dead) - 8} more" if len(dead) > 8 else "")
                dead_text = f"the dead {level if len(dead) == 1 else PLURAL[level]} {shown}"
            out.append(Advisory(
                "spread-blocks-rescheduling",
                f"losing {_names(kind, names, total)}: replacements of {workload} stay Pending because "
                f"PodTopologySpread (over {level}, DoNotSchedule, nodeTaintsPolicy: Ignore) still counts "
                f"{dead_text} as an empty domain (kubernetes #123019); set nodeTaintsPolicy: Honor or "
                f"whenUnsatisfiable: ScheduleAnyway", subject=workload))
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


def sampling_advisory(ess: dict | None) -> list[Advisory]:
    """Importance sampling whose figures rest on a few heavily weighted cycles (Kish's effective
    sample size below 10): their intervals cannot be trusted."""
    if not ess or not ess["too_small"]:
        return []
    values = {"API": ess["api"], **ess["workloads"]}
    few = ", ".join(f"{name} ({values[name]:g})" for name in ess["too_small"])
    return [Advisory("importance-sampling-few-effective-cycles",
                     f"importance sampling: the figures of {few} rest on fewer than 10 effective cycles (Kish's "
                     "effective sample size of the likelihood ratios of the cycles in which they were down): a few "
                     "heavily weighted cycles carry them, so their intervals may be too narrow; confirm with "
                     "--sampling plain, or run more --failures")]


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
                f"{years:g} years: {expected:.1f} such failures expected in the "
                f"{simulated_seconds / SECONDS_PER_YEAR:,.0f} simulated years)")
    msg += ("; the API and workload figures already add the exact down time of outages one domain causes "
            "on its own, so only the simulated quorum figure is affected")
    return [Advisory("rare-outages-undersampled", msg)]


def fix_first_advisory(importance: list[dict]) -> list[Advisory]:
    """Point at the domain whose hardening would save the most (the report's Fix first), when
    the saving is real: its interval excludes zero for the API or a workload."""
    for row in importance[:1]:
        gains = [("the API", row["api_minutes_per_year_saved"], row["ci95"]["api"][0])]
        gains += [(f"workload {name}", saved, row["ci95"]["workloads"][name][0])
                  for name, saved in row["workload_minutes_per_year_saved"].items()]
        real = sorted((g for g in gains if g[1] > 0 and g[2] > 0), key=lambda g: -g[1])
        if not real:
            return []
        parts = ", ".join(f"{saved:.3g} min/year of {what}" for what, saved, _ in real[:3])
        return [Advisory("fix-first", f"hardening {row['kind']} {row['domain'].split('/', 1)[-1]} first would save the "
                         f"most downtime: {parts} (Fix first ranks every domain)", "info")]
    return []


#: Minutes a year of a workload held down with every failure repaired above which the
#: ordered-restart deadlock is worth a warning.
DEADLOCK_MINUTES = 1.0


def ordered_restart_deadlock(cluster: Cluster, attributed: dict) -> list[Advisory]:
    """StatefulSets the run found held down with nothing failed, by replacements their own
    spread keeps Pending. Under ``OrderedReady`` (upstream's ``processReplica`` waits for each
    ordinal to be Running and Ready before it creates the next) a Pending ordinal blocks every
    higher one, and when those are the pods whose return would even the spread (a dead domain
    counted as empty, a volume pinning the replacement), nothing ends the wait: kube-scheduler
    and the StatefulSet controller each wait for the other. An operator ends it in practice;
    kchaos models none, so the run counts the wait until a later failure breaks it."""
    out = []
    rows_of = attributed.get("workloads") or {}
    for wl in cluster.workloads:
        sp = wl.spread
        if wl.kind != "StatefulSet" or wl.pod_management != "OrderedReady" or sp is None \
                or sp.when_unsatisfiable != "DoNotSchedule":
            continue
        minutes = sum(r["minutes_per_year"] for r in rows_of.get(wl.name, [])
                      if r["cause"] == "replacements Pending (spread)")
        if minutes < DEADLOCK_MINUTES:
            continue
        pinned = f", its volumes pinning each pod to its {wl.volume_scope}" if wl.volume_scope else ""
        out.append(Advisory(
            "ordered-restart-deadlock",
            f"StatefulSet {wl.name} was down with every failure repaired, {minutes:,.0f} min/year in this run: "
            f"with podManagementPolicy OrderedReady, a replacement its spread over {sp.over} (DoNotSchedule"
            f"{pinned}) keeps Pending blocks every higher ordinal, and those are the pods whose return would let "
            f"it schedule: a deadlock only an operator ends (kchaos models none, so the figure counts the wait "
            f"until a later failure breaks it). Set podManagementPolicy: Parallel, or whenUnsatisfiable: "
            f"ScheduleAnyway", subject=wl.name))
    return out
