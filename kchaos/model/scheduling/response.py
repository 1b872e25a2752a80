"""Blast radius: what losing a set of domains costs, starting from the healthy cluster.

Each response is the settled end state (:func:`kchaos.model.scheduling.settle.settle`: quorum,
NotReady, eviction, replacement and scheduling, as the engine plays them), keeping
only the figures the analysis reads, cached by the set of failed domains. Nothing of
the engine's per-pod state is kept, so memory grows with the number of domains, not
with domains x pods.
"""

from __future__ import annotations

from typing import Callable, Iterable, Iterator

from ..cluster_model import ClusterModel
from .settle import Response, settle

__all__ = ["BlastRadius", "Response", "workload_cover", "BLAST_KINDS", "SETTLE_CHUNK"]

#: The domain kinds of the blast-radius table (nodes are left out: the replacement chain
#: repairs a node's loss, and the run's figures show it).
BLAST_KINDS = ("region", "datacenter", "rack", "server", "regionLink")
#: Domains settled per task when a pool settles them (the largest go one per task first).
SETTLE_CHUNK = 32


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

    def single_domains(self) -> list[int]:
        """Every domain a run reads alone: the table's kinds and every failing domain above
        the node level (:func:`workload_cover`)."""
        c = self.model.cluster
        return [d.index for d in c.domains if d.kind in BLAST_KINDS
                or (d.kind != "node" and c.failures.get(d.kind) is not None)]

    def prefetch(self, domains: Iterable[int],
                 settle_many: Callable[[list[list[frozenset[int]]]], Iterator[list[Response]]]) -> None:
        """Settle the single-domain responses not cached yet with ``settle_many`` (a pool's:
        chunks in, responses out in the same order), largest domains first so the workers
        finish together. Responses are deterministic: the same wherever they are settled."""
        nodes_under = self.model.nodes_under
        keys = sorted({frozenset((int(d),)) for d in domains} - self._cache.keys(),
                      key=lambda k: (-len(nodes_under.get(next(iter(k)), ())), min(k)))
        big = [[k] for k in keys if len(nodes_under.get(next(iter(k)), ())) > SETTLE_CHUNK]
        rest = keys[len(big):]
        chunks = big + [rest[i:i + SETTLE_CHUNK] for i in range(0, len(rest), SETTLE_CHUNK)]
        for chunk, responses in zip(chunks, settle_many(chunks)):
            self._cache.update(zip(chunk, responses))


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
