"""A candidate layout: the user's topology text with a set of edits, built and cached.

An edit is a dotted key path of the topology document (``workers.0.count``) and its new
value (or :data:`~kchaos.topology.loader.DELETE`), applied by the loader's overrides, so a
candidate is validated exactly as a file would be. Each candidate is built once (cluster,
model, blast radius) and its settled responses are cached with it: the search asks the same
layouts again while it minimises.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from ..analysis.exact import quorum_availability
from ..analysis.survive import DomainVerdict, survive_verdicts, with_survive
from ..model.cluster import Cluster
from ..model.cluster_model import ClusterModel
from ..model.scheduling.response import BlastRadius, workload_cover
from ..topology.loader import load_topology_text

Edits = tuple[tuple[str, Any], ...]


def freeze(value: Any) -> Any:
    """A hashable form of an edit's value (lists and mappings inside)."""
    if isinstance(value, dict):
        return tuple(sorted((k, freeze(v)) for k, v in value.items()))
    if isinstance(value, list):
        return tuple(freeze(v) for v in value)
    return value


@dataclass
class Layout:
    """One built candidate and what has been computed about it so far."""

    edits: Edits
    cluster: Cluster
    model: ClusterModel
    blast: BlastRadius
    _verdicts: dict[str, list[DomainVerdict]] = field(default_factory=dict)
    _quorum: float | None = None

    def verdicts(self, level: str) -> list[DomainVerdict]:
        """Every domain of ``level``, its settled loss judged against N-1."""
        hit = self._verdicts.get(level)
        if hit is None:
            hit = self._verdicts[level] = survive_verdicts(self.model, (level,), self.blast)
        return hit

    @property
    def quorum_exact(self) -> float | None:
        if self._quorum is None:
            self._quorum = quorum_availability(self.cluster)
        return self._quorum

    def healthy_pending(self) -> dict[str, int]:
        """Pods that fit nowhere with every node up, by workload."""
        m = self.model
        out: dict[str, int] = {}
        for p, node in enumerate(m.baseline.pod_node):
            if node < 0:
                name = self.cluster.workloads[m.pod_workload[p]].name
                out[name] = out.get(name, 0) + 1
        return out

    def ready_for_simulation(self) -> ClusterModel:
        """The model with the blast radius the Monte Carlo reads (shared, not settled twice)."""
        if self.model.blast is None:
            self.model.blast = self.blast
            self.model.cover_of_domain = workload_cover(self.blast)
        return self.model


class Layouts:
    """The user's topology and every candidate built from it, by edits."""

    def __init__(self, text: str, filename: str, survive: tuple[str, ...] = ()):
        self.text = text
        self.filename = filename
        self.survive = survive
        self._built: dict[Any, Layout] = {}
        self.base = self.build(())

    def build(self, edits: Edits) -> Layout:
        """The layout with ``edits`` applied (later edits of one path win), built once."""
        merged: dict[str, Any] = {}
        for path, value in edits:
            merged[path] = value
        key = tuple(sorted((p, freeze(v)) for p, v in merged.items()))
        hit = self._built.get(key)
        if hit is None:
            cluster = with_survive(load_topology_text(self.text, self.filename, overrides=merged), self.survive)
            model = ClusterModel(cluster)
            hit = self._built[key] = Layout(tuple(merged.items()), cluster, model, BlastRadius(model))
        return hit

    @property
    def built(self) -> int:
        return len(self._built)
