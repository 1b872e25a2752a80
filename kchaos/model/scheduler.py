"""Pod placement as kube-scheduler does it: filter, then score.

Filters: the node is a worker the scheduler may use (not yet marked NotReady),
requests fit (cpu, memory, pod count), a StatefulSet pod stays inside its
volume's scope, and PodTopologySpread with ``DoNotSchedule`` keeps the skew
within ``maxSkew``. Score: NodeResourcesFit ``LeastAllocated`` (the default),
with ``ScheduleAnyway`` spread as a preference for less crowded domains.
Ties go to the lowest node index, so placement is deterministic.

Spread follows the real plugin: with the default ``nodeTaintsPolicy: Ignore``
every node carrying the topology label defines a domain, including tainted
(NotReady, control-plane) nodes, and deleted (evicted) pods do not count, so a
domain that is down counts as empty and can block replacements elsewhere
(kubernetes #123019, #116978). With ``Honor`` such nodes are left out.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from .cluster import Cluster

LEVEL_ATTR = {"server": "server", "rack": "rack", "datacenter": "datacenter", "region": "region"}


@dataclass
class Placement:
    """Mutable scheduler view of the cluster during one history."""

    alloc_cpu: np.ndarray
    alloc_mem: np.ndarray
    alloc_pods: np.ndarray
    usable: np.ndarray  # worker not marked NotReady (what the scheduler may bind to)
    pod_node: list[int]
    spread_counts: dict[int, np.ndarray]  # workload index -> counts per domain of its spread level

    def copy(self) -> "Placement":
        return Placement(self.alloc_cpu.copy(), self.alloc_mem.copy(), self.alloc_pods.copy(),
                         self.usable.copy(), list(self.pod_node),
                         {w: c.copy() for w, c in self.spread_counts.items()})


class Scheduler:
    """Immutable per-cluster tables plus the placement decision."""

    def __init__(self, cluster: Cluster, pod_workload: list[int]):
        self.cluster = cluster
        nodes = cluster.nodes
        self.n_nodes = len(nodes)
        self.cap_cpu = np.array([n.capacity.cpu for n in nodes], dtype=float)
        self.cap_mem = np.array([n.capacity.memory for n in nodes], dtype=float)
        self.cap_pods = np.array([n.capacity.pods for n in nodes], dtype=float)
        # The capacity filters' bounds, precomputed (same floats as comparing with the tolerance).
        self._cpu_bound = self.cap_cpu + 1e-9
        self._mem_bound = self.cap_mem + 1e-6
        self.is_worker = np.array([n.schedulable for n in nodes], dtype=bool)
        self.pod_workload = pod_workload
        self.workloads = cluster.workloads
        # Per spread level: each node's domain position, and which domains exist (Ignore policy).
        self.level_of_node: dict[str, np.ndarray] = {}
        self.level_size: dict[str, int] = {}
        for level, attr in LEVEL_ATTR.items():
            ids = sorted({getattr(n, attr) for n in nodes})
            pos = {d: i for i, d in enumerate(ids)}
            self.level_of_node[level] = np.array([pos[getattr(n, attr)] for n in nodes], dtype=np.int64)
            self.level_size[level] = len(ids)
        #: Per level, every domain that has a node (what nodeTaintsPolicy: Ignore counts).
        self.level_has_node = {level: np.ones(size, dtype=bool) for level, size in self.level_size.items()}
        # Scope masks for StatefulSet volumes: domain index -> node mask.
        self._scope_masks: dict[int, np.ndarray] = {}
        self._ancestors = [set(n.ancestors) for n in nodes]

    # -- helpers -----------------------------------------------------------------
    def scope_mask(self, domain: int) -> np.ndarray:
        mask = self._scope_masks.get(domain)
        if mask is None:
            mask = np.array([domain in a for a in self._ancestors], dtype=bool)
            self._scope_masks[domain] = mask
        return mask

    def empty_placement(self, n_pods: int) -> Placement:
        counts = {}
        for w, wl in enumerate(self.workloads):
            if wl.spread is not None:
                counts[w] = np.zeros(self.level_size[wl.spread.over], dtype=np.int64)
        zeros = np.zeros(self.n_nodes)
        return Placement(zeros.copy(), zeros.copy(), zeros.copy(), self.is_worker.copy(),
                         [-1] * n_pods, counts)

    def utilization(self, pl: Placement) -> np.ndarray:
        """Per node: the larger of requested cpu and memory over capacity."""
        return np.maximum(pl.alloc_cpu / self.cap_cpu, pl.alloc_mem / self.cap_mem)

    # -- the decision --------------------------------------------------------------
    def pick(self, pl: Placement, pod: int, only: int | None = None, scope: int = -1) -> int:
        """The node the scheduler binds ``pod`` to, or -1 (Pending).

        ``only`` pins a DaemonSet pod to its node; ``scope`` (a domain index) keeps a
        StatefulSet pod next to its volume."""
        w = self.pod_workload[pod]
        wl = self.workloads[w]
        if only is not None:  # DaemonSet pod: its own node only (the same tests, on that node)
            fits = (pl.usable[only] and pl.alloc_cpu[only] + wl.cpu <= self._cpu_bound[only]
                    and pl.alloc_mem[only] + wl.memory <= self._mem_bound[only]
                    and pl.alloc_pods[only] + 1 <= self.cap_pods[only]
                    and (scope < 0 or self.scope_mask(scope)[only]))
            return int(only) if fits else -1
        # Few numpy calls per pick: this runs for most replacements. ``argmax`` doubles as the
        # emptiness test (it is a C call; ``any`` is not), pods as integer-valued floats.
        cpu, mem, alloc_cpu, alloc_mem = wl.cpu, wl.memory, pl.alloc_cpu, pl.alloc_mem
        mask = alloc_cpu + cpu <= self._cpu_bound
        mask &= alloc_mem + mem <= self._mem_bound
        mask &= pl.alloc_pods < self.cap_pods
        mask &= pl.usable
        if scope >= 0:
            mask &= self.scope_mask(scope)
        score = (self.cap_cpu - alloc_cpu - cpu) / self.cap_cpu + (self.cap_mem - alloc_mem - mem) / self.cap_mem
        spread = wl.spread
        if spread is not None:
            counts = pl.spread_counts[w]
            node_dom = self.level_of_node[spread.over]
            node_counts = counts[node_dom]
            if spread.when_unsatisfiable == "DoNotSchedule":
                if spread.node_taints_policy == "Honor":
                    eligible = np.zeros(counts.size, dtype=bool)
                    eligible[node_dom[pl.usable]] = True
                    counted = counts[eligible].tolist()
                else:  # every domain with a node counts, whatever its taints
                    counted = counts.tolist()
                min_count = min(counted) if counted else 0
                mask &= node_counts <= spread.max_skew - 1 + min_count
            else:
                score -= 4.0 * node_counts  # prefer emptier domains above all
        score[~mask] = -np.inf
        best = int(score.argmax())
        return best if mask[best] else -1

    def explain(self, pl: Placement, pod: int, scope: int = -1) -> str:
        """Why ``pod`` fits nowhere, in kube-scheduler's FailedScheduling words."""
        w = self.pod_workload[pod]
        wl = self.workloads[w]
        reasons: dict[str, int] = {}

        def add(reason: str, mask: np.ndarray) -> np.ndarray:
            n = int(mask.sum())
            if n:
                reasons[reason] = reasons.get(reason, 0) + n
            return ~mask

        left = np.ones(self.n_nodes, dtype=bool)
        left &= add("node(s) had untolerated taint(s)", left & ~pl.usable)
        if scope >= 0:
            left &= add("node(s) had volume node affinity conflict", left & ~self.scope_mask(scope))
        left &= add("Insufficient cpu", left & (pl.alloc_cpu + wl.cpu > self.cap_cpu + 1e-9))
        left &= add("Insufficient memory", left & (pl.alloc_mem + wl.memory > self.cap_mem + 1e-6))
        left &= add("Too many pods", left & (pl.alloc_pods + 1 > self.cap_pods))
        if left.any() and wl.spread is not None and wl.spread.when_unsatisfiable == "DoNotSchedule":
            add("node(s) didn't match pod topology spread constraints", left)
        detail = ", ".join(f"{n} {r}" for r, n in sorted(reasons.items(), key=lambda kv: -kv[1]))
        return f"0/{self.n_nodes} nodes are available: {detail}."

    def bind(self, pl: Placement, pod: int, node: int) -> None:
        wl = self.workloads[self.pod_workload[pod]]
        pl.pod_node[pod] = node
        pl.alloc_cpu[node] += wl.cpu
        pl.alloc_mem[node] += wl.memory
        pl.alloc_pods[node] += 1
        self.count(pl, pod, node, +1)

    def unbind(self, pl: Placement, pod: int, counted: bool = True) -> None:
        node = pl.pod_node[pod]
        wl = self.workloads[self.pod_workload[pod]]
        pl.pod_node[pod] = -1
        pl.alloc_cpu[node] -= wl.cpu
        pl.alloc_mem[node] -= wl.memory
        pl.alloc_pods[node] -= 1
        if counted:
            self.count(pl, pod, node, -1)

    def count(self, pl: Placement, pod: int, node: int, delta: int) -> None:
        """Add ``delta`` to the pod's spread domain count (pods being deleted do not count)."""
        w = self.pod_workload[pod]
        counts = pl.spread_counts.get(w)
        if counts is not None:
            counts[self.level_of_node[self.workloads[w].spread.over][node]] += delta
