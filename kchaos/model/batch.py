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

#: Up to this many pods, pod-by-pod picks (each one vectorised over the nodes) are cheaper.
SMALL_BATCH = 8


def place_batch(sch: Scheduler, pl: Placement, pods: list[int], scope: int = -1) -> list[int]:
    """Bind ``pods`` (same workload, not pinned to a node, same volume ``scope``) in order;
    return each pod's node, -1 for the pods that fit nowhere (they stay Pending)."""
    if len(pods) <= SMALL_BATCH:  # a heap over every node costs more than a few vectorised picks
        out = []
        for p in pods:
            node = sch.pick(pl, p, scope=scope)
            if node < 0:
                return out + [-1] * (len(pods) - len(out))
            sch.bind(pl, p, node)
            out.append(node)
        return out
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

    cand = np.flatnonzero(fits)
    scores = (cap_cpu[cand] - alloc_cpu[cand] - cpu) / cap_cpu[cand] + (cap_mem[cand] - alloc_mem[cand] - mem) / cap_mem[cand]
    if soft:
        scores = scores - 4.0 * counts[node_dom[cand]]
    parked: dict[int, list[int]] = {}  # domain -> nodes found over the skew limit while placing
    floor = min_count() if hard else 0
    waiting_nodes = waiting_doms = None  # nodes over the skew limit from the start (arrays)
    if hard:  # nodes of domains already at the skew limit wait for the minimum to rise
        blocked = counts[node_dom[cand]] + 1 - floor > skew
        if blocked.all():  # nothing can take even one pod: the whole batch stays Pending
            return [-1] * len(pods)
        waiting_nodes, waiting_doms = cand[blocked], node_dom[cand[blocked]]
        cand, scores = cand[~blocked], scores[~blocked]
    # Entries: (-score, node, version of the node's spread domain when scored). Only the chosen
    # node's load changes, so every entry still fits; with ScheduleAnyway a domain's penalty
    # grows when it gets a pod, which its version tells.
    version = np.zeros(counts.size if soft else 1, dtype=np.int64)
    heap = list(zip((-scores).tolist(), cand.tolist(), [0] * cand.size))
    heapq.heapify(heap)
    out = []
    for p in pods:
        node = -1
        while heap:
            neg, n, seen = heap[0]
            if soft and version[node_dom[n]] != seen:
                d = node_dom[n]
                heapq.heapreplace(heap, (-score(n), n, int(version[d])))
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
        if soft:
            version[node_dom[node]] += 1
        if still_fits(node):
            heapq.heapreplace(heap, (-score(node), node, int(version[node_dom[node]]) if soft else 0))
        else:
            heapq.heappop(heap)
        if hard:
            new_floor = min_count()
            if new_floor != floor:
                floor = new_floor
                for d in [d for d in parked if counts[d] + 1 - floor <= skew]:
                    for n in parked.pop(d):
                        heapq.heappush(heap, (-score(n), n, 0))
                if waiting_nodes.size:
                    free = counts[waiting_doms] + 1 - floor <= skew
                    for n in waiting_nodes[free].tolist():
                        heapq.heappush(heap, (-score(n), n, 0))
                    waiting_nodes, waiting_doms = waiting_nodes[~free], waiting_doms[~free]
    return out


def schedule_pass(sch: Scheduler, pl: Placement, pending: list[int], pod_pin: list[int], scope: list[int],
                  one_by_one: bool = False, hopeless: set[tuple[int, int]] | None = None) -> list[tuple[int, int]]:
    """One pass of the scheduler over the Pending pods, in pod order, as kube-scheduler's
    queue does: consecutive pods of one workload and volume scope go in one batch; a pod
    pinned to its node (DaemonSet) alone. Once a pod fits nowhere, its siblings (same
    workload and scope) fit nowhere either in this pass: binding only adds load.
    Returns (pod, node) for every pod tried, node -1 when it stays Pending (with
    ``one_by_one`` every sibling is tried, so each can be reported). The caller records
    the volume scope of a StatefulSet pod that lands for the first time. A ``hopeless`` set
    passed in carries (workload, scope) keys that fit nowhere across passes: the caller
    drops a key when something that could make room for it changes."""
    out: list[tuple[int, int]] = []
    if hopeless is None:
        hopeless = set()
    i, n = 0, len(pending)
    while i < n:
        p = pending[i]
        w, s = sch.pod_workload[p], scope[p]
        if pod_pin[p] >= 0:
            node = sch.pick(pl, p, only=pod_pin[p], scope=s)
            if node >= 0:
                sch.bind(pl, p, node)
            out.append((p, node))
            i += 1
            continue
        j = i + 1
        while j < n and pod_pin[pending[j]] < 0 and sch.pod_workload[pending[j]] == w and scope[pending[j]] == s:
            j += 1
        run = pending[i:j]
        if (w, s) in hopeless and not one_by_one:
            i = j
            continue
        nodes = place_batch(sch, pl, run, s)
        out.extend(zip(run, nodes))
        if nodes and nodes[-1] < 0:
            hopeless.add((w, s))
        i = j
    return out
