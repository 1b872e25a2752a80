"""N-1 capacity (``slo.survive``): does the cluster survive losing any one domain of a level?

Deterministic: for every domain of the level, the settled end state of its loss from the
healthy placement (:func:`kchaos.model.scheduling.settle.settle`, the blast radius's
response) must keep etcd quorum and the API, leave no pod Pending, keep the hottest
surviving worker at or under ``slo.maxNodeUtilization`` and every workload at or above its
``minAvailable``. No histories are needed, so ``check`` gives the same verdict at any
``--failures`` and ``kchaos plan`` can screen thousands of layouts with it.
"""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass

from ..model.cluster import Cluster
from ..model.cluster_model import ClusterModel
from ..model.scheduling.response import BlastRadius, Response


@dataclass(frozen=True)
class DomainVerdict:
    """One domain's loss judged against the N-1 target."""

    domain: str  # failure-domain id, e.g. datacenter/dc-a
    level: str
    response: Response
    reasons: tuple[str, ...]  # empty: survived

    @property
    def survived(self) -> bool:
        return not self.reasons

    @property
    def pending(self) -> int:
        return sum(self.response.pending_by_workload.values())

    def as_dict(self) -> dict:
        r = self.response
        return {"domain": self.domain, "level": self.level, "survived": self.survived,
                "quorum_lost": r.quorum_lost, "api_down": r.api_down, "members_lost": r.members_lost,
                "nodes_lost": r.nodes_lost, "pods_displaced": r.pods_displaced, "pods_pending": self.pending,
                "pending_by_workload": dict(r.pending_by_workload), "hottest": round(r.hottest, 4),
                "workloads_unavailable": list(r.workloads_unavailable), "reasons": list(self.reasons)}


def judge(domain: str, level: str, r: Response, limit: float | None) -> DomainVerdict:
    """Why losing ``domain`` breaks N-1 (nothing when it survives)."""
    reasons = []
    if r.quorum_lost:
        reasons.append(f"etcd quorum lost ({r.members_lost} members down)")
    elif r.api_down:
        reasons.append("no apiserver reachable")
    pending = sum(r.pending_by_workload.values())
    if pending:
        by = ", ".join(f"{name} {n}" for name, n in sorted(r.pending_by_workload.items(), key=lambda kv: -kv[1]))
        reasons.append(f"{pending} pods Pending ({by})")
    if limit is not None and r.hottest > limit + 1e-9:
        reasons.append(f"hottest node {100 * r.hottest:.0f}% > {100 * limit:.0f}%")
    if r.workloads_unavailable:
        reasons.append("below minAvailable: " + ", ".join(r.workloads_unavailable))
    return DomainVerdict(domain, level, r, tuple(reasons))


def survive_verdicts(model: ClusterModel, levels, blast: BlastRadius | None = None) -> list[DomainVerdict]:
    """Every domain of every level in ``levels``, its settled loss judged (file order)."""
    c = model.cluster
    blast = blast or model.blast or BlastRadius(model)
    limit = c.slo.max_node_utilization
    out = []
    for level in levels:
        for d in c.domains_of_kind(level):
            out.append(judge(d.id, level, blast.respond([d.index]), limit))
    return out


def survive_summary(model: ClusterModel, levels, blast: BlastRadius | None = None) -> dict:
    """results.json ``survive``: per level, every domain's verdict."""
    verdicts = survive_verdicts(model, levels, blast)
    return {"levels": list(levels), "passed": all(v.survived for v in verdicts),
            "domains": [v.as_dict() for v in verdicts]}


def survive_checks(block: dict | None) -> list[dict]:
    """One ``check`` verdict per level (``survive.<level>``): the domains whose loss breaks N-1.
    The estimate is how many such domains there are; the target is none."""
    checks = []
    for level in (block or {}).get("levels", []):
        rows = [d for d in block["domains"] if d["level"] == level]
        bad = [d for d in rows if not d["survived"]]
        detail = (f"every one of the {len(rows)} {level} losses settles within the targets" if not bad else
                  "; ".join(f"losing {d['domain']}: {', '.join(d['reasons'])}" for d in bad[:3])
                  + (f"; and {len(bad) - 3} more" if len(bad) > 3 else ""))
        if not rows:
            detail = f"the topology has no {level}"
        checks.append({"name": f"survive.{level}", "target": 0, "estimate": len(bad), "ci95": None,
                       "passed": not bad, "confirmed": True, "failures_to_confirm": None,
                       "domains": len(rows), "detail": detail})
    return checks


def with_survive(cluster: Cluster, levels: tuple[str, ...]) -> Cluster:
    """The cluster with the N-1 levels of ``--survive`` added to its ``slo.survive``."""
    if not levels:
        return cluster
    order = ("region", "datacenter", "rack", "server")
    wanted = set(cluster.slo.survive) | set(levels)
    slo = dataclasses.replace(cluster.slo, survive=tuple(level for level in order if level in wanted))
    return dataclasses.replace(cluster, slo=slo)
