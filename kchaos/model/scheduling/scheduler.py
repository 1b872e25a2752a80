"""kube-scheduler's tables and bookkeeping: what every node offers, what is bound where.

Filters (see :mod:`.placement`): the node is a worker the scheduler may use (no
untolerated taint: not NotReady, not cordoned), requests fit (cpu, memory, pod count),
a StatefulSet pod stays inside its volume's scope, and PodTopologySpread with
``DoNotSchedule`` keeps the skew within ``maxSkew``. Scores, with the default plugin
weights (``pkg/scheduler/apis/config/v1/default_plugins.go``): NodeResourcesFit
``LeastAllocated`` 1, NodeResourcesBalancedAllocation 1, PodTopologySpread 2 (the pod's
own ``ScheduleAnyway`` constraint, or the system default soft spread for a pod without
constraints). TaintToleration, NodeAffinity, InterPodAffinity and ImageLocality give
every candidate the same score here (no PreferNoSchedule taints, affinities or image
differences are modelled), so they do not change the choice. Integer arithmetic as
upstream; ties go to a uniformly drawn node (``selectHost``).

Requests are held as integers, millicores and bytes, as the scheduler's ``NodeInfo``
does; ``NonZeroRequested`` (a pod without a request counts 100m cpu and 200 MiB for
scoring) is kept beside the real sums.

Spread counts follow the real plugin: with the default ``nodeTaintsPolicy: Ignore``
every node defines a domain and counts its pods, tainted (NotReady, cordoned,
control-plane) nodes included, and deleted (Terminating) pods do not count, so a domain
that is down counts as empty and can block replacements elsewhere (kubernetes #123019,
#116978). With ``Honor`` a node with an untolerated taint is left out entirely, its
pods included (``matchNodeInclusionPolicies``, ``podtopologyspread/common.go``).
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from ..cluster import Cluster
from .affinity import AffinityIndex

LEVEL_ATTR = {"server": "server", "rack": "rack", "datacenter": "datacenter", "region": "region"}

#: pkg/scheduler/framework/interface.go: MaxNodeScore.
MAX_NODE_SCORE = 100
#: pkg/scheduler/util/pod_resources.go: DefaultMilliCPURequest, DefaultMemoryRequest (scoring only).
DEFAULT_MILLI_CPU_REQUEST = 100
DEFAULT_MEMORY_REQUEST = 200 * 1024 * 1024
#: pkg/scheduler/schedule_one.go: minFeasibleNodesToFind, minFeasibleNodesPercentageToFind.
MIN_FEASIBLE_NODES_TO_FIND = 100
MIN_FEASIBLE_NODES_PERCENTAGE_TO_FIND = 5
#: pkg/scheduler/apis/config/v1/default_plugins.go: score plugin weights that can differ per node.
WEIGHT_LEAST_ALLOCATED = 1
WEIGHT_BALANCED_ALLOCATION = 1
WEIGHT_POD_TOPOLOGY_SPREAD = 2
#: pkg/scheduler/framework/plugins/podtopologyspread/plugin.go: systemDefaultConstraints
#: (hostname maxSkew 3, zone maxSkew 5, ScheduleAnyway), for Deployment and StatefulSet pods
#: without constraints of their own.
SYSTEM_DEFAULT_SPREAD = (("hostname", 3), ("zone", 5))


#: Entropy of the tie-break streams that belong to the model rather than to a history (the
#: initial placement, a rollout's fresh placement, a settled single-domain response), so
#: that they are the same in every history and cacheable.
PLACEMENT_ENTROPY = 0x6B636861


def placement_rng(*key: int) -> np.random.Generator:
    """The tie-break stream of one model-level placement, named by ``key``."""
    return np.random.default_rng(np.random.SeedSequence(PLACEMENT_ENTROPY, spawn_key=key))


def num_feasible_nodes_to_find(n_all: int) -> int:
    """How many feasible nodes the scheduler scores (``numFeasibleNodesToFind`` with the
    adaptive default ``percentageOfNodesToScore``: 50% - nodes/125, at least 5%)."""
    if n_all < MIN_FEASIBLE_NODES_TO_FIND:
        return n_all
    percentage = max(50 - n_all // 125, MIN_FEASIBLE_NODES_PERCENTAGE_TO_FIND)
    return max(n_all * percentage // 100, MIN_FEASIBLE_NODES_TO_FIND)


def zone_interleaved_order(zone_of_node: list) -> np.ndarray:
    """The scheduler's node list: one node from each zone in turn (``nodeTree.list()``,
    ``pkg/scheduler/backend/cache/node_tree.go``), zones and nodes in the order they were added."""
    zones: dict = {}
    for n, z in enumerate(zone_of_node):
        zones.setdefault(z, []).append(n)
    order, columns = [], list(zones.values())
    for i in range(max((len(c) for c in columns), default=0)):
        order.extend(c[i] for c in columns if i < len(c))
    return np.array(order, dtype=np.int64)


@dataclass
class Placement:
    """Mutable scheduler view of the cluster during one history."""

    alloc_cpu: np.ndarray  # int64 millicores requested per node
    alloc_mem: np.ndarray  # int64 bytes
    alloc_pods: np.ndarray  # int64
    nonzero_cpu: np.ndarray  # NonZeroRequested: as above, a pod without a request counting the defaults
    nonzero_mem: np.ndarray
    usable: np.ndarray  # worker without an untolerated taint (what the scheduler may bind to)
    pod_node: list[int]
    #: [workload, column]: pods counted for spread (bound, not Terminating), per node and per
    #: domain of every level some constraint reads (``Scheduler.count_slice`` says which columns).
    counts: np.ndarray
    count_slice: dict[str, slice]
    #: Per request class (workloads asking the same cpu and memory) and node: the resource
    #: score and fit of one more pod, memoised; a bind or unbind on a node clears its column.
    res_cache: np.ndarray
    fit_cache: np.ndarray
    res_valid: np.ndarray
    #: Per node, (cpu, memory, pods, nonzero cpu, nonzero memory) as Python ints: the key of the
    #: memoised one-node scores (the same numbers as the arrays above).
    load: list[tuple[int, int, int, int, int]]
    #: Per node, the larger of requested cpu and memory over capacity (``Scheduler.utilization``),
    #: kept up to date by bind and unbind for the hottest-node figure.
    util: np.ndarray
    next_start: int = 0  # where the next scan of the node list starts (nextStartNodeIndex)
    #: [workload, column]: pods bound per domain of every level a pod (anti-)affinity term reads,
    #: Terminating ones included (:class:`~.affinity.AffinityIndex`); no columns without terms.
    aff: np.ndarray | None = None
    #: Nodes that exist: False for a machine the autoscaler has not added (it defines no
    #: topology domain and counts in no "0/N nodes are available").
    present: np.ndarray | None = None
    #: Control-plane nodes (with a kubelet) without an untolerated taint other than their
    #: NoSchedule control-plane one: where a pod tolerating that taint may also go (CoreDNS).
    cp_usable: np.ndarray | None = None

    @property
    def node_counts(self) -> np.ndarray:
        return self.counts[:, self.count_slice["hostname"]]

    @property
    def level_counts(self) -> dict[str, np.ndarray]:
        return {lv: self.counts[:, sl] for lv, sl in self.count_slice.items() if lv != "hostname"}

    def copy(self) -> "Placement":
        return Placement(self.alloc_cpu.copy(), self.alloc_mem.copy(), self.alloc_pods.copy(),
                         self.nonzero_cpu.copy(), self.nonzero_mem.copy(), self.usable.copy(),
                         list(self.pod_node), self.counts.copy(), self.count_slice,
                         self.res_cache.copy(), self.fit_cache.copy(), self.res_valid.copy(), list(self.load),
                         self.util.copy(), self.next_start, None if self.aff is None else self.aff.copy(),
                         None if self.present is None else self.present.copy(), self.cp_usable.copy())

    def restore(self, base: "Placement", nodes, pods, workloads) -> None:
        """Undo what binds, unbinds, spread counts and NotReady changed since this placement
        was a copy of ``base``: on ``nodes`` (requests, usability, memoised scores), ``pods``
        (their node) and the spread counts of ``workloads``. Settling many domains reuses one
        scratch placement this way instead of copying a large cluster's placement each time."""
        idx = np.fromiter(nodes, dtype=np.int64)
        for name in ("alloc_cpu", "alloc_mem", "alloc_pods", "nonzero_cpu", "nonzero_mem", "usable", "util", "present",
                     "cp_usable"):
            getattr(self, name)[idx] = getattr(base, name)[idx]
        for name in ("res_cache", "fit_cache", "res_valid"):
            getattr(self, name)[:, idx] = getattr(base, name)[:, idx]
        for n in idx.tolist():
            self.load[n] = base.load[n]
        for p in pods:
            self.pod_node[p] = base.pod_node[p]
        rows = np.fromiter(workloads, dtype=np.int64)
        self.counts[rows] = base.counts[rows]
        if self.aff is not None and self.aff.shape[1]:
            self.aff[:] = base.aff  # a pod of one workload moving changes no other row, but terms are rare
        self.next_start = base.next_start


class Scheduler:
    """Immutable per-cluster tables, bind/unbind, and why a pod fits nowhere (the
    decision itself is :mod:`.placement`'s)."""

    def __init__(self, cluster: Cluster, pod_workload: list[int]):
        self.cluster = cluster
        nodes = cluster.nodes
        self.n_nodes = len(nodes)
        # At least one millicore and one byte (a sub-millicore capacity would round to nothing).
        self.cap_cpu = np.array([max(round(n.capacity.cpu * 1000), 1) for n in nodes], dtype=np.int64)
        self.cap_mem = np.array([max(round(n.capacity.memory), 1) for n in nodes], dtype=np.int64)
        self.cap_pods = np.array([n.capacity.pods for n in nodes], dtype=np.int64)
        # A machine the autoscaler adds runs the DaemonSets too (kchaos gives it no DaemonSet
        # pod): what they request is taken from its room.
        daemons = [wl for wl in cluster.workloads if wl.kind == "DaemonSet"]
        for n in nodes:
            if n.standby and daemons:
                self.cap_cpu[n.index] = max(1, self.cap_cpu[n.index] - sum(round(wl.cpu * 1000) for wl in daemons))
                self.cap_mem[n.index] = max(1, self.cap_mem[n.index] - sum(round(wl.memory) for wl in daemons))
                self.cap_pods[n.index] = max(1, self.cap_pods[n.index] - len(daemons))
        self.is_worker = np.array([n.schedulable for n in nodes], dtype=bool)
        #: Workers the scheduler may use on a healthy cluster: not NotReady, cordoned or tainted
        #: when imported, and not a machine the autoscaler has yet to add.
        self.usable_at_start = np.array([n.schedulable and n.ready and not n.cordoned and not n.standby
                                         for n in nodes], dtype=bool)
        self.standby = np.array([n.standby for n in nodes], dtype=bool)
        self.any_standby = bool(self.standby.any())  # else every node is present, always
        #: Control-plane nodes that run a kubelet (not external etcd hosts) and keep their NoSchedule
        #: taint (a compact one runs workloads: a worker here), Ready and not cordoned when
        #: imported; and the workloads whose pods tolerate that taint (kubeadm's CoreDNS).
        self.is_cp_kube = np.array([n.role in ("control-plane", "apiserver") and not n.schedulable and n.ready
                                    and not n.cordoned for n in nodes], dtype=bool)
        self.tolerates_cp = [wl.tolerates_control_plane for wl in cluster.workloads]
        self.cap_cpu_list = self.cap_cpu.tolist()  # for one-node arithmetic
        self.cap_mem_list = self.cap_mem.tolist()
        self.pod_workload = pod_workload
        self.workloads = cluster.workloads
        wls = cluster.workloads
        self.req_cpu = [round(wl.cpu * 1000) for wl in wls]
        self.req_mem = [round(wl.memory) for wl in wls]
        self.nonzero_req_cpu = [c or DEFAULT_MILLI_CPU_REQUEST for c in self.req_cpu]
        self.nonzero_req_mem = [m or DEFAULT_MEMORY_REQUEST for m in self.req_mem]
        classes: dict[tuple[int, int], int] = {}
        self.req_class = [classes.setdefault(r, len(classes)) for r in zip(self.req_cpu, self.req_mem)]
        self.n_classes = len(classes)
        # Per spread level: each node's domain position and the number of domains.
        self.level_of_node: dict[str, np.ndarray] = {}
        self.level_size: dict[str, int] = {}
        for level, attr in LEVEL_ATTR.items():
            ids = sorted({getattr(n, attr) for n in nodes})
            pos = {d: i for i, d in enumerate(ids)}
            self.level_of_node[level] = np.array([pos[getattr(n, attr)] for n in nodes], dtype=np.int64)
            self.level_size[level] = len(ids)
        #: Per level and domain, the nodes in it (index arrays).
        self.domain_nodes = {level: [np.flatnonzero(dom == d) for d in range(self.level_size[level])]
                             for level, dom in self.level_of_node.items()}
        # The topology.kubernetes.io/zone label (kubernetes.zoneLevel; none: no zone label).
        zone_level = cluster.kubernetes.zone_level
        self.zone_level = zone_level if zone_level in LEVEL_ATTR else None
        self.order = zone_interleaved_order(
            [getattr(n, zone_level) if self.zone_level else 0 for n in nodes])
        self.feasible_to_find = num_feasible_nodes_to_find(self.n_nodes)
        #: Soft spread constraints scored per workload: (level or "hostname", maxSkew, Honor?).
        self.soft_spread: list[tuple[tuple[str, int, bool], ...]] = [self._soft(wl) for wl in wls]
        #: The levels whose per-domain counts some constraint reads (kept up to date on bind).
        levels = {wl.spread.over for wl in wls if wl.spread is not None}
        levels |= {level for soft in self.soft_spread for level, _, _ in soft if level != "hostname"}
        self.counted_levels = tuple(sorted(levels))
        # The count columns: every node, then the domains of each counted level.
        self.count_slice: dict[str, slice] = {"hostname": slice(0, self.n_nodes)}
        start = self.n_nodes
        for lv in self.counted_levels:
            self.count_slice[lv] = slice(start, start + self.level_size[lv])
            start += self.level_size[lv]
        self.n_count_columns = start
        #: Per node, the count columns a pod on it adds to.
        self.count_columns = [[n] + [self.count_slice[lv].start + int(self.level_of_node[lv][n])
                                     for lv in self.counted_levels] for n in range(self.n_nodes)]
        # Nodes of equal capacity share memoised resource scores (see placement.py).
        caps: dict[tuple, int] = {}
        self.capacity_id = [caps.setdefault(c, len(caps)) for c in
                            zip(self.cap_cpu.tolist(), self.cap_mem.tolist(), self.cap_pods.tolist())]
        self.score_memo: dict[tuple, tuple[bool, int]] = {}
        self.affinity = AffinityIndex(wls, self.level_of_node, self.n_nodes)
        self._request_arrays: tuple | None = None  # numpy copies of the requests, for unbind_many
        # Scope masks for StatefulSet volumes: domain index -> node mask.
        self._scope_masks: dict[int, np.ndarray] = {}
        self._ancestors = [set(n.ancestors) for n in nodes]

    def _soft(self, wl) -> tuple:
        if wl.spread is not None:
            s = wl.spread
            return ((s.over, s.max_skew, s.node_taints_policy == "Honor"),) \
                if s.when_unsatisfiable == "ScheduleAnyway" else ()
        if wl.kind == "DaemonSet":
            return ()
        return tuple((self.zone_level if key == "zone" else key, skew, False)
                     for key, skew in SYSTEM_DEFAULT_SPREAD if key == "hostname" or self.zone_level)

    # -- helpers -----------------------------------------------------------------
    def schedulable(self, pl: Placement, w: int) -> np.ndarray:
        """The nodes without a taint workload ``w``'s pods do not tolerate."""
        return pl.usable | pl.cp_usable if self.tolerates_cp[w] else pl.usable

    def scope_mask(self, domain: int) -> np.ndarray:
        mask = self._scope_masks.get(domain)
        if mask is None:
            mask = np.array([domain in a for a in self._ancestors], dtype=bool)
            self._scope_masks[domain] = mask
        return mask

    def empty_placement(self, n_pods: int) -> Placement:
        zeros = np.zeros(self.n_nodes, dtype=np.int64)
        n_wl, shape = len(self.workloads), (self.n_classes, self.n_nodes)
        return Placement(zeros.copy(), zeros.copy(), zeros.copy(), zeros.copy(), zeros.copy(),
                         self.usable_at_start.copy(), [-1] * n_pods,
                         np.zeros((n_wl, self.n_count_columns), dtype=np.int64), self.count_slice,
                         np.zeros(shape, dtype=np.int64), np.zeros(shape, dtype=bool), np.zeros(shape, dtype=bool),
                         [(0, 0, 0, 0, 0)] * self.n_nodes, np.zeros(self.n_nodes),
                         aff=self.affinity.empty_counts(n_wl), present=~self.standby, cp_usable=self.is_cp_kube.copy())

    def utilization(self, pl: Placement) -> np.ndarray:
        """Per node: the larger of requested cpu and memory over capacity."""
        return np.maximum(pl.alloc_cpu / self.cap_cpu, pl.alloc_mem / self.cap_mem)

    def fits_on(self, pl: Placement, w: int, node: int) -> bool:
        """NodeResourcesFit on one node: cpu, memory and the pod count."""
        return bool(pl.alloc_cpu[node] + self.req_cpu[w] <= self.cap_cpu[node]
                    and pl.alloc_mem[node] + self.req_mem[w] <= self.cap_mem[node]
                    and pl.alloc_pods[node] < self.cap_pods[node])

    def fits(self, pl: Placement, w: int, nodes=slice(None)) -> np.ndarray:
        mask = pl.alloc_cpu[nodes] + self.req_cpu[w] <= self.cap_cpu[nodes]
        mask &= pl.alloc_mem[nodes] + self.req_mem[w] <= self.cap_mem[nodes]
        mask &= pl.alloc_pods[nodes] < self.cap_pods[nodes]
        return mask

    # -- why not -------------------------------------------------------------------
    def blocking_filter(self, pl: Placement, pod: int, scope: int = -1) -> str:
        """Which filter keeps ``pod`` Pending, in a word: ``volume scope`` (no usable node in
        its volume's domain), ``capacity`` (none with room: taints, cpu, memory, pod count) or
        ``spread`` (room, but PodTopologySpread's DoNotSchedule forbids it): what
        :meth:`explain` says at length, for the downtime attribution."""
        usable = self.schedulable(pl, self.pod_workload[pod])
        if scope >= 0:
            anywhere = usable.any()
            usable = usable & self.scope_mask(scope)
            if not usable.any() and anywhere:
                return "volume scope"
        # The memoised fits of the pod's request class (placement.refresh_class keeps them
        # current on the nodes whose load changed) where they are valid, computed elsewhere.
        w = self.pod_workload[pod]
        k = self.req_class[w]
        valid = usable & pl.res_valid[k]
        fit = valid & pl.fit_cache[k]
        stale = (usable & ~valid).nonzero()[0]
        if stale.size:
            fit[stale] = self.fits(pl, w, stale)
        if not fit.any():
            return "capacity"
        if self.affinity.active[w]:
            if not (fit & self.affinity.anti_ok(pl.aff, w)).any():
                return "pod anti-affinity"
            if not (fit & self.affinity.affinity_ok(pl.aff, w)).any():
                return "pod affinity"
        return "spread"

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

        left = np.ones(self.n_nodes, dtype=bool) if pl.present is None else pl.present.copy()
        left &= add("node(s) had untolerated taint(s)", left & ~self.schedulable(pl, w))
        if scope >= 0:
            left &= add("node(s) had volume node affinity conflict", left & ~self.scope_mask(scope))
        left &= add("Insufficient cpu", left & (pl.alloc_cpu + self.req_cpu[w] > self.cap_cpu))
        left &= add("Insufficient memory", left & (pl.alloc_mem + self.req_mem[w] > self.cap_mem))
        left &= add("Too many pods", left & (pl.alloc_pods + 1 > self.cap_pods))
        if left.any() and wl.spread is not None and wl.spread.when_unsatisfiable == "DoNotSchedule":
            from .placement import BatchPlacer  # the spread filter as the placer applies it

            placer = BatchPlacer(self, pl, w, scope)
            left &= add("node(s) didn't match pod topology spread constraints", left & ~placer.ok)
        if left.any() and self.affinity.active[w]:  # InterPodAffinity's reasons (filtering.go)
            left &= add("node(s) didn't match pod affinity rules", left & ~self.affinity.affinity_ok(pl.aff, w))
            left &= add("node(s) didn't match pod anti-affinity rules", left & ~self.affinity.anti_ok(pl.aff, w, own=True))
            add("node(s) didn't satisfy existing pods anti-affinity rules", left & ~self.affinity.anti_ok(pl.aff, w))
        detail = ", ".join(f"{n} {r}" for r, n in sorted(reasons.items(), key=lambda kv: -kv[1]))
        return f"0/{self.n_nodes if pl.present is None else int(pl.present.sum())} nodes are available: {detail}."

    def bind(self, pl: Placement, pod: int, node: int) -> None:
        w = self.pod_workload[pod]
        pl.pod_node[pod] = node
        pl.alloc_cpu[node] += self.req_cpu[w]
        pl.alloc_mem[node] += self.req_mem[w]
        pl.alloc_pods[node] += 1
        pl.nonzero_cpu[node] += self.nonzero_req_cpu[w]
        pl.nonzero_mem[node] += self.nonzero_req_mem[w]
        c, m, n, zc, zm = pl.load[node]
        c, m = c + self.req_cpu[w], m + self.req_mem[w]
        pl.load[node] = (c, m, n + 1, zc + self.nonzero_req_cpu[w], zm + self.nonzero_req_mem[w])
        pl.util[node] = max(c / self.cap_cpu_list[node], m / self.cap_mem_list[node])
        pl.res_valid[:, node] = False
        row = pl.counts[w]  # the spread counts (Scheduler.count, inlined: binds are the hot path)
        for column in self.count_columns[node]:
            row[column] += 1
        if self.affinity.counted[w]:
            self.affinity.count(pl.aff, w, node, +1)

    def unbind(self, pl: Placement, pod: int, counted: bool = True) -> None:
        node = pl.pod_node[pod]
        w = self.pod_workload[pod]
        pl.pod_node[pod] = -1
        pl.alloc_cpu[node] -= self.req_cpu[w]
        pl.alloc_mem[node] -= self.req_mem[w]
        pl.alloc_pods[node] -= 1
        pl.nonzero_cpu[node] -= self.nonzero_req_cpu[w]
        pl.nonzero_mem[node] -= self.nonzero_req_mem[w]
        c, m, n, zc, zm = pl.load[node]
        c, m = c - self.req_cpu[w], m - self.req_mem[w]
        pl.load[node] = (c, m, n - 1, zc - self.nonzero_req_cpu[w], zm - self.nonzero_req_mem[w])
        pl.util[node] = max(c / self.cap_cpu_list[node], m / self.cap_mem_list[node])
        pl.res_valid[:, node] = False
        if counted:
            self.count(pl, pod, node, -1)
        if self.affinity.counted[w]:
            self.affinity.count(pl.aff, w, node, -1)

    def unbind_many(self, pl: Placement, pods: list[int]) -> list[tuple[int, int]]:
        """:meth:`unbind` every bound pod of ``pods`` (counted), as one vectorised update that
        leaves the same state (a rollout takes hundreds of pods off at once); returns (pod,
        node) of the pods that were bound."""
        bound = [(p, pl.pod_node[p]) for p in pods if pl.pod_node[p] >= 0]
        if not bound:
            return bound
        if self._request_arrays is None:
            self._request_arrays = tuple(np.array(x, dtype=np.int64) for x in (
                self.pod_workload, self.req_cpu, self.req_mem, self.nonzero_req_cpu, self.nonzero_req_mem,
                self.count_columns))
        pod_w, req_c, req_m, nz_c, nz_m, columns = self._request_arrays
        idx = np.array(bound, dtype=np.int64)
        nodes, ws = idx[:, 1], pod_w[idx[:, 0]]
        for arr, req in ((pl.alloc_cpu, req_c), (pl.alloc_mem, req_m), (pl.nonzero_cpu, nz_c), (pl.nonzero_mem, nz_m)):
            np.subtract.at(arr, nodes, req[ws])
        np.subtract.at(pl.alloc_pods, nodes, 1)
        np.subtract.at(pl.counts, (ws[:, None], columns[nodes]), 1)
        touched = np.unique(nodes)
        pl.res_valid[:, touched] = False
        for n, c, m, k, zc, zm in zip(touched.tolist(), *(a[touched].tolist() for a in (
                pl.alloc_cpu, pl.alloc_mem, pl.alloc_pods, pl.nonzero_cpu, pl.nonzero_mem))):
            pl.load[n] = (c, m, k, zc, zm)
            pl.util[n] = max(c / self.cap_cpu_list[n], m / self.cap_mem_list[n])
        counted = self.affinity.counted
        for p, node in bound:
            pl.pod_node[p] = -1
            if counted[self.pod_workload[p]]:
                self.affinity.count(pl.aff, self.pod_workload[p], node, -1)
        return bound

    def count(self, pl: Placement, pod: int, node: int, delta: int) -> None:
        """Add ``delta`` to the pod's spread counts (pods being deleted do not count)."""
        row = pl.counts[self.pod_workload[pod]]
        for column in self.count_columns[node]:
            row[column] += delta
