"""The initial placement indexed for rollouts: a rollout places every Deployment pod afresh,
and with the other pods where they started that fresh placement is the initial one (computed
once per model; fresh placements for other positions of the other pods are cached)."""

from __future__ import annotations

import operator
import weakref
from collections import OrderedDict
from dataclasses import dataclass, field
from typing import Callable

from ..cluster_model import ClusterModel


@dataclass(frozen=True)
class FreshStart:
    """The initial placement, indexed for rollouts (computed once per model)."""

    others: Callable  # placement -> the nodes of every non-Deployment pod, as a tuple
    others_at_start: tuple
    node_pods: tuple[frozenset, ...]
    deployments: tuple[int, ...]  # Deployment workload indices
    deployments_all_placed: bool
    #: Fresh placements for other positions of the non-Deployment pods (StatefulSet pods
    #: recreated elsewhere): others' nodes -> (placement, node_pods, all placed); LRU, bounded.
    placed: "OrderedDict[tuple, tuple]" = field(default_factory=OrderedDict)


#: Fresh placements kept per model (each is one Placement: a few arrays of the node count).
FRESH_PLACEMENTS = 64

_FRESH: "weakref.WeakKeyDictionary[ClusterModel, FreshStart]" = weakref.WeakKeyDictionary()


def fresh_start(m: ClusterModel) -> FreshStart:
    hit = _FRESH.get(m)
    if hit is None:
        base = m.baseline.pod_node
        if len(m.other_pods) > 1:
            pick = operator.itemgetter(*m.other_pods)
        elif m.other_pods:
            only = m.other_pods[0]
            pick = lambda nodes: (nodes[only],)  # noqa: E731
        else:
            pick = lambda nodes: ()  # noqa: E731
        node_pods: list[set] = [set() for _ in range(m.n_nodes)]
        for p, node in enumerate(base):
            if node >= 0:
                node_pods[node].add(p)
        hit = _FRESH[m] = FreshStart(
            pick, pick(base), tuple(frozenset(s) for s in node_pods),
            tuple(w for w, wl in enumerate(m.cluster.workloads) if wl.kind == "Deployment"),
            all(base[p] >= 0 for p in m.deployment_pods))
    return hit
