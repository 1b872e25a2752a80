"""Batch placement: k identical pods of one workload in one call, with the nodes that
kube-scheduler would pick binding them one by one (:meth:`Scheduler.pick`).

Pod by pod, every pick filters every node and scores it again: O(k x N) numpy work
for k replicas. Here the static filters (usable, volume scope) run once, and a heap
holds each candidate node under its score. Scores only fall while a batch places
(a node's LeastAllocated score drops when it gets a pod; a ScheduleAnyway domain's
penalty grows), so a stored score is an upper bound: the top entry is recomputed
and, when it went stale, pushed back with its true score (lazy deletion). Ties go to
the lowest node index, as ``np.argmax`` gives them. A node that cannot take another
pod leaves the heap when it is chosen; a node whose domain would exceed ``maxSkew``
(DoNotSchedule) is parked with its domain and comes back when the minimum count over
the eligible domains rises. Scores are computed with the same float operations as
``pick``, so the result is identical, ties included (property-tested against it).
"""

from __future__ import annotations

import heapq

import numpy as np

from .scheduler import Placement, Scheduler


def place_batch(sch: Scheduler, pl: Placement, pods: list[int], scope: int = -1) -> list[int]:
    """Bind ``pods`` (same workload, not pinned to a node, same volume ``scope``) in order;
    return each pod's node, -1 for the pods that fit nowhere (they stay Pending)."""
    if not pods:
        return []
    w = sch.pod_workload[pods[0]]
    wl = sch.workloads[w]
    cpu, mem = wl.cpu, wl.memory
    cap_cpu, cap_mem, cap_pods = sch.cap_cpu, sch.cap_mem, sch.cap_pods
    alloc_cpu, alloc_mem, alloc_pods = pl.alloc_cpu, pl.alloc_mem, pl.alloc_pods

    static = pl.usable.copy()
    if scope >= 0:
        static &= sch.scope_mask(scope)
    fits = static & (alloc_cpu + cpu <= cap_cpu + 1e-9) & (alloc_mem + mem <= cap_mem + 1e-6) \
        & (alloc_pods + 1 <= cap_pods)

    spread = wl.spread
    counts = pl.spread_counts[w] if spread is not None else None
    node_dom = sch.level_of_node[spread.over] if spread is not None else None
    hard = spread is not None and spread.when_unsatisfiable == "DoNotSchedule"
    soft = spread is not None and not hard
    if hard:
        eligible = np.zeros(counts.size, dtype=bool)
        eligible[node_dom[pl.usable] if spread.node_taints_policy == "Honor" else node_dom] = True
        has_eligible = bool(eligible.any())
        skew = spread.max_skew

        def min_count() -> int:
            return int(counts[eligible].min()) if has_eligible else 0

    def score(n: int) -> float:
        s = (cap_cpu[n] - alloc_cpu[n] - cpu) / cap_cpu[n] + (cap_mem[n] - alloc_mem[n] - mem) / cap_mem[n]
        if soft:
            s = s - 4.0 * counts[node_dom[n]]
        return float(s)

    def still_fits(n: int) -> bool:
        return bool(alloc_cpu[n] + cpu <= cap_cpu[n] + 1e-9 and alloc_mem[n] + mem <= cap_mem[n] + 1e-6
                    and alloc_pods[n] + 1 <= cap_pods[n])

    heap = [(-score(n), n) for n in np.flatnonzero(fits).tolist()]
    heapq.heapify(heap)
    parked: dict[int, list[int]] = {}
    floor = min_count() if hard else 0
    out = []
    for p in pods:
        node = -1
        while heap:
            neg, n = heap[0]  # only the chosen node's load changes: every entry still fits
            true = score(n)
            if -neg != true:
                heapq.heapreplace(heap, (-true, n))
                continue
            if hard and counts[node_dom[n]] + 1 - floor > skew:
                heapq.heappop(heap)
                parked.setdefault(int(node_dom[n]), []).append(n)
                continue
            node = n
            break
        if node < 0:
            out.extend([-1] * (len(pods) - len(out)))
            break
        sch.bind(pl, p, node)
        out.append(node)
        if still_fits(node):
            heapq.heapreplace(heap, (-score(node), node))
        else:
            heapq.heappop(heap)
        if hard:
            new_floor = min_count()
            if new_floor != floor:
                floor = new_floor
                for d in [d for d in parked if counts[d] + 1 - floor <= skew]:
                    for n in parked.pop(d):
                        heapq.heappush(heap, (-score(n), n))
    return out
