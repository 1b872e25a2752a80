"""Blast radius: what losing a set of domains costs, starting from the healthy cluster.

Each response is the settled end state (:func:`kchaos.model.settle.settle`: quorum,
NotReady, eviction, replacement and scheduling, as the engine plays them), keeping
only the figures the analysis reads, cached by the set of failed domains. Nothing of
the engine's per-pod state is kept, so memory grows with the number of domains, not
with domains x pods.
"""

from __future__ import annotations

from .cluster_model import ClusterModel
from .settle import Response, settle

__all__ = ["BlastRadius", "Response", "workload_cover"]


class BlastRadius:
    """Deterministic single-domain (or domain-set) responses for one cluster model, cached."""

    def __init__(self, model: ClusterModel):
        self.model = model
        self._cache: dict[frozenset, Response] = {}

    def respond(self, domain_indices) -> Response:
        key = frozenset(int(d) for d in domain_indices)
        hit = self._cache.get(key)
        if hit is None:
            hit = self._cache[key] = settle(self.model, key)
        return hit


def workload_cover(blast: BlastRadius) -> dict[int, tuple[int, ...]]:
    """Failure instance -> workloads that it alone keeps below minAvailable for as long as it
    is down (ignoring nodes, whose loss the replacement chain repairs)."""
    c = blast.model.cluster
    index = {w.name: i for i, w in enumerate(c.workloads)}
    cover: dict[int, tuple[int, ...]] = {}
    for d in c.domains:
        spec = c.failures.get(d.kind)
        if d.kind == "node" or spec is None or spec.ttf is None:
            continue
        hit = blast.respond([d.index]).workloads_unavailable
        if hit:
            cover[d.index] = tuple(sorted(index[name] for name in hit))
    return cover
