"""Scheduling passes: the Pending pods in queue order, identical pods placed as one batch.

A batch is k pods of one workload with one volume scope; they go through k scheduling
cycles back to back (:class:`~.placement.BatchPlacer`), which give exactly the nodes
pod-by-pod scheduling gives (``Scheduler.pick``, property-tested) at a fraction of the
cost. Tie breaks draw from the ``rng`` passed in: the history's scheduler stream.
"""

from __future__ import annotations

import numpy as np

from .placement import BatchPlacer, pick
from .scheduler import Placement, Scheduler


def place_batch(sch: Scheduler, pl: Placement, pods: list[int], rng: np.random.Generator,
                scope: int = -1) -> list[int]:
    """Bind ``pods`` (same workload, not pinned to a node, same volume ``scope``) in order;
    return each pod's node, -1 for the pods that fit nowhere (they stay Pending)."""
    if not pods:
        return []
    placer = BatchPlacer(sch, pl, sch.pod_workload[pods[0]], scope)
    out = []
    for i, p in enumerate(pods):
        node = placer.choose(rng)
        if node < 0:  # binding only adds load: its siblings fit nowhere either
            return out + [-1] * (len(pods) - i)
        sch.bind(pl, p, node)
        out.append(node)
        if i + 1 < len(pods):  # the last bind's changes are picked up by the next batch's refresh
            placer.bound(node)
    return out


def schedule_pass(sch: Scheduler, pl: Placement, pending: list[int], pod_pin: list[int], scope: list[int],
                  rng: np.random.Generator, one_by_one: bool = False,
                  hopeless: set[tuple[int, int]] | None = None) -> list[tuple[int, int]]:
    """One pass of the scheduler over the Pending pods, in pod order, as kube-scheduler's
    queue does: consecutive pods of one workload and volume scope go in one batch; a pod
    pinned to its node (DaemonSet) alone. Once a pod fits nowhere, its siblings (same
    workload and scope) fit nowhere either in this pass: binding only adds load.
    Returns (pod, node) for every pod tried, node -1 when it stays Pending (with
    ``one_by_one`` every sibling is tried, so each can be reported). The caller records
    the volume scope of a StatefulSet pod that lands for the first time. A ``hopeless`` set
    passed in carries (workload, scope) keys that fit nowhere across passes: the caller
    drops a key when something that could make room for it changes, and the pass drops the
    keys of every workload that got a pod bound (its spread counts rose)."""
    out: list[tuple[int, int]] = []
    bound: set[int] = set()  # workloads that got a pod bound in this pass
    if hopeless is None:
        hopeless = set()
    i, n = 0, len(pending)
    while i < n:
        p = pending[i]
        w, s = sch.pod_workload[p], scope[p]
        if pod_pin[p] >= 0:
            node = pick(sch, pl, p, rng, only=pod_pin[p], scope=s)
            if node >= 0:
                sch.bind(pl, p, node)
                bound.add(w)
            out.append((p, node))
            i += 1
            continue
        j = i + 1
        while j < n and pod_pin[pending[j]] < 0 and sch.pod_workload[pending[j]] == w and scope[pending[j]] == s:
            j += 1
        run = pending[i:j]
        if (w, s) in hopeless and w not in bound and not (sch.affinity.related[w] & bound) and not one_by_one:
            # a bind this pass (its own spread counts, a pod its affinity asks for) may have opened it
            i = j
            continue
        nodes = place_batch(sch, pl, run, rng, s)
        out.extend(zip(run, nodes))
        if nodes and nodes[-1] < 0:
            hopeless.add((w, s))
        if nodes and nodes[0] >= 0:
            bound.add(w)
        i = j
    if bound:  # a bind raises its workload's spread counts, which can let its other keys fit: retry them
        hopeless.difference_update([key for key in hopeless if key[0] in bound or sch.affinity.related[key[0]] & bound])
    return out
