"""A rollout's fresh placement: every Deployment pod placed afresh on a healthy cluster
(:func:`redeploy`). With the other pods where they started that fresh placement is the
initial one (indexed once per model, :class:`FreshStart`); fresh placements for other
positions of the other pods, or with Deployments kept in place, are cached."""

from __future__ import annotations

import operator
import weakref
import zlib
from collections import OrderedDict
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Callable

import numpy as np

from ..cluster_model import ClusterModel
from ..scheduling.batch import schedule_pass
from ..scheduling.placement import refresh_scores
from ..scheduling.scheduler import placement_rng

if TYPE_CHECKING:
    from .controllers import Workloads


@dataclass(frozen=True)
class FreshStart:
    """The initial placement, indexed for rollouts (computed once per model)."""

    others: Callable  # placement -> the nodes of every non-Deployment pod, as a tuple
    others_at_start: tuple
    node_pods: tuple[frozenset, ...]
    deployments: tuple[int, ...]  # Deployment workload indices
    deployments_all_placed: bool
    #: Fresh placements for other positions of the non-Deployment pods (StatefulSet pods
    #: recreated elsewhere), Deployments kept in place or machines added: (kept Deployments,
    #: others' nodes, added machines) -> (placement, node_pods, all placed, scores filled); LRU, bounded.
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


def redeploy(work: "Workloads", t: float, keep: frozenset[int] = frozenset()) -> None:
    """Every Deployment pod is placed afresh (rolling update on a healthy cluster), except
    those of the Deployments in ``keep`` (rollouts that cannot progress, or released on a
    schedule of their own): the ready count during the rollout is RolloutWaves' business."""
    m, sch = work.m, work.m.scheduler
    work.rec.pending_count(t, len(work.pending))
    fresh = fresh_start(m)
    others = fresh.others(work.pl.pod_node)
    moving = m.deployment_pods if not keep else [p for p in m.deployment_pods if m.pod_workload[p] not in keep]
    if keep:  # the kept pods' places are part of what the fresh placement depends on
        others = (*others, *(work.pl.pod_node[p] for p in m.deployment_pods if m.pod_workload[p] in keep))
    # Placements are cached per position of the other pods, the Deployments kept in place and
    # the usable machines the autoscaler added (the healthy cluster's nodes are usable whenever
    # a rollout runs).
    reuse = not work.cordoned
    added = tuple((n, bool(work.pl.usable[n])) for n in m.standby if work.pl.present[n]) \
        if work.autoscaler is not None else ()
    key = (keep, others, added)
    cached = fresh.placed.get(key) if reuse else None
    if others == fresh.others_at_start and reuse and not added and not keep:
        # Everything else sits where it started: the fresh placement is the initial one.
        work.pl = m.baseline.copy()
        work.node_pods = [set(pods) for pods in fresh.node_pods]
        all_placed = fresh.deployments_all_placed
    elif cached is not None:  # the same position of the other pods seen before (healthy cluster)
        fresh.placed.move_to_end(key)
        pl, node_pods, all_placed, warm = cached
        if not warm:  # its memoised scores are filled once it is used again, so that copies start warm
            refresh_scores(sch, pl)
            fresh.placed[key] = (pl, node_pods, all_placed, True)
        work.pl = pl.copy()
        work.node_pods = [set(pods) for pods in node_pods]
    else:
        taken = sch.unbind_many(work.pl, moving)
        if taken:
            work.room_changed()
        for p, node in taken:
            work.node_pods[node].discard(p)
        all_placed = True
        # A fresh placement depends only on where the other pods are (so it is cacheable):
        # its own tie-break stream, named by that position, and a scan from the first node.
        work.pl.next_start = 0
        rng = placement_rng(2, zlib.crc32(np.asarray(others, dtype=np.int64).tobytes()))
        for p, node in schedule_pass(sch, work.pl, moving, m.pod_pin, work.scope, rng):
            if node >= 0:
                work.node_pods[node].add(p)
            else:
                all_placed = False
        if reuse:  # most positions after a large outage are met once: scores are filled on a second use
            fresh.placed[key] = (work.pl.copy(), tuple(frozenset(s) for s in work.node_pods), all_placed, False)
            if len(fresh.placed) > FRESH_PLACEMENTS:
                fresh.placed.popitem(last=False)
    if work.autoscaler is not None:  # the rollout may have left added machines empty
        for node in m.standby:
            if not work.node_pods[node]:
                work.autoscaler.maybe_empty(t, node)
    for w in fresh.deployments:  # pods left cordoned nodes: drains waiting on them look again
        listener = work.budget_listener  # re-read: a drain that completes stops listening
        if listener is None:
            break
        listener(t, w)
    if all_placed and all(work.ready_count[w] == m.workload_desired[w] for w in fresh.deployments):
        work.rec.load_changed()  # every replica placed and running: nothing restarts
        return
    ready_at = t + work.c.kubernetes.pod_startup
    for p in moving:
        if work.pl.pod_node[p] < 0:
            work.set_pending(p, True)
            if work.ready[p]:
                work.set_ready(t, p, False)
                work.down_since[p] = t
            continue
        work.set_pending(p, False)
        if not work.ready[p]:
            work.start(ready_at, p)
    work.rec.load_changed()
