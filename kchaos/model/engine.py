"""The event engine: replays one failure history through Kubernetes' reactions.

Failure and repair times come from a sampler (``failures.py``) as sorted arrays;
everything Kubernetes does in response (elections, lease takeovers, NotReady,
eviction, replacement, scheduling, pod start) goes on one heap of
``(time, seq, kind, a, b)`` entries, the counter ``seq`` making ties
deterministic. Stale entries are dropped by comparing an epoch or version.
The engine does no I/O and keeps only streamed sums, episode durations and a
few samples per history (:class:`HistoryResult`).

Cached across histories (:class:`ClusterModel`): the nodes under each domain,
the quorum partition for a given set of dead members and cut links, commit
latency per leader and membership, and the initial placement.
"""

from __future__ import annotations

import heapq
from dataclasses import dataclass, field
from math import inf, sqrt

import numpy as np

from .cluster import Cluster
from .failures import History
from .raft import ElectionModel, commit_latency
from .scheduler import Placement, Scheduler

ELECTION_DONE, LEASE_ACQUIRE, LEASE_LOST, NOT_READY, EVICT, POD_READY, DRAIN_TRY, ROLLOUT = range(8)
#: A rollout that finds the cluster degraded waits this long and tries again.
ROLLOUT_RETRY_SECONDS = 3600.0
#: kubectl drain retries a refused eviction every 5 s.
DRAIN_RETRY_SECONDS = 5.0
KCM, SCHEDULER = 0, 1
LEASE_NAMES = ("kube-controller-manager", "kube-scheduler")
DEFAULT_UTILIZATION_LIMIT = 0.9
#: client-go leader election: JitterUntil(retryPeriod, jitterFactor=1.2)
LEASE_JITTER = 1.2


@dataclass
class Episodes:
    """Down time of one yes/no quantity: total seconds and each episode's length."""

    down: bool = False
    since: float = 0.0
    total: float = 0.0
    durations: list = field(default_factory=list)

    def set(self, t: float, down: bool) -> None:
        if down == self.down:
            return
        if down:
            self.since = t
        else:
            d = t - self.since
            self.total += d
            self.durations.append(d)
        self.down = down

    def close(self, t: float) -> None:
        """End of the history: count an open episode up to ``t`` (censored)."""
        if self.down:
            d = t - self.since
            self.total += d
            self.durations.append(d)
            self.down = False


@dataclass
class HistoryResult:
    """Streamed figures of one history; :mod:`kchaos.analysis` combines them."""

    index: int
    horizon: float
    weight: float
    failures: int
    domain_failures: np.ndarray
    api: Episodes
    quorum: Episodes
    api_only: Episodes
    workloads: list[Episodes]
    workload_rest: list[Episodes]  # down while none of the workload's covering domains is down
    election_gaps: list[float]
    election_causes: list[str]
    recoveries: list[list[float]]
    commit_seconds: dict[float, float]
    above_limit: Episodes
    pending_pod_seconds: float
    max_pending: int
    hottest_after_failure: list[float]
    baseline_hottest: float


class ClusterModel:
    """Everything about a cluster the engine computes once and reuses."""

    def __init__(self, cluster: Cluster):
        self.cluster = cluster
        nodes = cluster.nodes
        self.n_nodes = len(nodes)
        # Nodes affected by each failure instance (physical domains only).
        under: dict[int, list[int]] = {d.index: [] for d in cluster.domains}
        for n in nodes:
            for d in (n.domain, *n.ancestors):
                under[d].append(n.index)
        self.nodes_under = {d: tuple(v) for d, v in under.items() if cluster.domains[d].kind != "regionLink"}
        self.link_bit = {d.index: 1 << i for i, d in enumerate(cluster.domains_of_kind("regionLink"))}
        self.links = [(d.index, d.regions) for d in cluster.domains_of_kind("regionLink")]
        self.regions = [d.index for d in cluster.domains_of_kind("region")]

        # etcd members and API servers.
        self.member_nodes = list(cluster.members)
        self.member_of_node = {n: i for i, n in enumerate(self.member_nodes)}
        self.member_region = [nodes[n].region for n in self.member_nodes]
        self.quorum = cluster.quorum
        m = len(self.member_nodes)
        self.rtt = np.array([[cluster.rtt(a, b) for b in self.member_nodes] for a in self.member_nodes]) \
            if m else np.zeros((0, 0))
        self.election = ElectionModel(self.rtt, cluster.etcd)
        self.api_nodes = list(cluster.apiservers)
        self.cp_nodes = set(self.member_nodes) | set(self.api_nodes)
        self.workers = [n.index for n in nodes if n.schedulable]
        self.worker_mask = np.array([n.schedulable for n in nodes], dtype=bool)
        #: Failure instance -> workloads it takes below minAvailable on its own for as long as it
        #: is down (set by the analysis from the blast radius; lets statistics subtract the
        #: exactly known part of each workload's down time).
        self.cover_of_domain: dict[int, tuple[int, ...]] = {}
        self.blast = None  # the cached single-domain responses (kchaos.model.response.BlastRadius)
        self._partition_cache: dict[tuple[int, int], tuple] = {}
        self._components_cache: dict[int, dict[int, int]] = {}
        self._commit_cache: dict[tuple, float] = {}

        # Pods: one entry per replica; DaemonSets get one pod per worker, pinned to it.
        self.pod_workload: list[int] = []
        self.pod_pin: list[int] = []
        self.workload_pods: list[list[int]] = []
        for w, wl in enumerate(cluster.workloads):
            ids = []
            if wl.kind == "DaemonSet":
                for node in self.workers:
                    ids.append(len(self.pod_workload))
                    self.pod_workload.append(w)
                    self.pod_pin.append(node)
            else:
                for _ in range(wl.replicas):
                    ids.append(len(self.pod_workload))
                    self.pod_workload.append(w)
                    self.pod_pin.append(-1)
            self.workload_pods.append(ids)
        self.n_pods = len(self.pod_workload)
        self.workload_desired = [len(p) for p in self.workload_pods]
        self.workload_required = [wl.required(d) for wl, d in zip(cluster.workloads, self.workload_desired)]
        self.is_daemon = [cluster.workloads[w].kind == "DaemonSet" for w in self.pod_workload]
        self.deployment_pods = [p for p, w in enumerate(self.pod_workload) if cluster.workloads[w].kind == "Deployment"]
        self.other_pods = [p for p, w in enumerate(self.pod_workload) if cluster.workloads[w].kind != "Deployment"]
        self.is_stateful = [cluster.workloads[w].kind == "StatefulSet" for w in self.pod_workload]
        self.scope_level = [cluster.workloads[w].volume_scope for w in self.pod_workload]
        self.scheduler = Scheduler(cluster, self.pod_workload)
        self.baseline, self.baseline_scope = self._initial_placement()
        util = self.scheduler.utilization(self.baseline)
        self.baseline_hottest = float(util[self.worker_mask].max()) if self.workers else 0.0
        slo_limit = cluster.slo.max_node_utilization
        self.utilization_limit = slo_limit if slo_limit is not None else DEFAULT_UTILIZATION_LIMIT

    def initial_pod_names(self) -> list[str]:
        """Readable pod names: web-0.. for replicas, agent-<node> for DaemonSet pods."""
        names = []
        for p, w in enumerate(self.pod_workload):
            wl = self.cluster.workloads[w]
            if self.pod_pin[p] >= 0:
                names.append(f"{wl.name}-{self.cluster.nodes[self.pod_pin[p]].name}")
            else:
                names.append(f"{wl.name}-{self.workload_pods[w].index(p)}")
        return names

    # -- placement ---------------------------------------------------------------
    def scope_of(self, pod: int, node: int) -> int:
        """The volume scope domain a StatefulSet pod gets when first bound to ``node``."""
        level = self.scope_level[pod]
        if level is None:
            return -1
        n = self.cluster.nodes[node]
        return {"server": n.server, "rack": n.rack, "datacenter": n.datacenter, "region": n.region,
                "node": n.domain}[level]

    def _initial_placement(self) -> tuple[Placement, list[int]]:
        """All nodes up: DaemonSets first (they reserve their node), then workloads in file order."""
        sch = self.scheduler
        pl = sch.empty_placement(self.n_pods)
        scope = [-1] * self.n_pods
        order = sorted(range(self.n_pods), key=lambda p: (not self.is_daemon[p], p))
        for p in order:
            pin = self.pod_pin[p]
            node = sch.pick(pl, p, only=pin if pin >= 0 else None)
            if node >= 0:
                sch.bind(pl, p, node)
                scope[p] = self.scope_of(p, node)
        return pl, scope

    # -- control plane lookups (cached) ----------------------------------------------
    def components(self, cut: int) -> dict[int, int]:
        """Region -> connected component id, given the bitmask of cut region links."""
        comp = self._components_cache.get(cut)
        if comp is None:
            parent = {r: r for r in self.regions}

            def find(r):
                while parent[r] != r:
                    parent[r] = parent[parent[r]]
                    r = parent[r]
                return r

            for d, (a, b) in self.links:
                if not cut & self.link_bit[d]:
                    parent[find(a)] = find(b)
            comp = {r: find(r) for r in self.regions}
            self._components_cache[cut] = comp
        return comp

    def quorum_partition(self, alive: int, cut: int) -> tuple:
        """(live members of the partition holding quorum, its component) or (None, None)."""
        key = (alive, cut)
        hit = self._partition_cache.get(key)
        if hit is None:
            comp = self.components(cut)
            groups: dict[int, list[int]] = {}
            for i, region in enumerate(self.member_region):
                if alive >> i & 1:
                    groups.setdefault(comp[region], []).append(i)
            hit = (None, None)
            for c, members in groups.items():
                if len(members) >= self.quorum:
                    hit = (tuple(members), c)
                    break
            self._partition_cache[key] = hit
        return hit

    def commit_latency(self, leader: int, live: tuple) -> float:
        key = (leader, live)
        lat = self._commit_cache.get(key)
        if lat is None:
            lat = commit_latency(self.rtt, leader, live, self.quorum, self.cluster.etcd.fsync)
            self._commit_cache[key] = lat
        return lat


class HistoryRun:
    """Mutable state of one history; ``run()`` plays it to the end."""

    def __init__(self, model: ClusterModel, history: History, rng: np.random.Generator,
                 events: list | None = None, rollouts: bool = True):
        self.m = model
        self.c = model.cluster
        self.h = history
        self.rng = rng
        self.heap: list = []
        self.seq = 0
        #: When a list, what happens is appended as (time, type, reason, object, message),
        #: like `kubectl get events` (what-if scenarios); None on the Monte Carlo path.
        self.events = events
        self.rollouts = rollouts and model.cluster.kubernetes.rollout_interval is not None
        self.pod_names: list[str] | None = None
        self.draining: dict[int, bool] = {}  # node -> drain finished
        self.failed_noted: set[int] = set()
        self.pod_counter: dict[int, int] = {}
        self.blocked_pods: dict[int, list[int]] = {}  # drained node -> pods its budget holds
        self.drain_noted: set[int] = set()
        m, c = model, model.cluster
        n = model.n_nodes
        # Infrastructure state.
        self.down_count = [0] * n
        self.node_up = [True] * n
        self.up_arr = np.ones(n, dtype=bool)
        self.node_epoch = [0] * n
        self.not_ready = [False] * n
        self.evicted = [False] * n
        #: Up, but cut off from the quorum's partition by a region link: its kubelet cannot
        #: post status, so it goes NotReady and its pods are evicted like a dead node's.
        self.unreachable = [False] * n
        self.n_unreachable = 0
        self.cut = 0
        self.alive = (1 << len(m.member_nodes)) - 1
        # Pods.
        self.pl = m.baseline.copy()
        self.scope = list(m.baseline_scope)
        self.node_pods: list[set] = [set() for _ in range(n)]
        for p, node in enumerate(self.pl.pod_node):
            if node >= 0:
                self.node_pods[node].add(p)
        self.ready = [node >= 0 for node in self.pl.pod_node]
        self.terminating = [False] * m.n_pods
        self.version = [0] * m.n_pods
        self.down_since = [np.nan] * m.n_pods
        self.pending = {p for p, node in enumerate(self.pl.pod_node) if node < 0}
        self.ready_count = [sum(self.ready[p] for p in pods) for pods in m.workload_pods]
        # Control plane.
        self.leader = -1
        self.electing = False
        self.election_epoch = 0
        self.election_end_winner = -1
        self.election_cause = ""
        self.live: tuple | None = None
        self.component = None
        self.outside_since: dict[int, float] = {}
        self.writes_ok = False
        self.api_ok = False
        self.holder = [-1, -1]
        self.renewing = [False, False]
        self.lease_renew = [-inf, -inf]  # last successful renewal while nobody renews
        self.lease_epoch = [0, 0]
        self.acquire_pending = [False, False]
        self.controllers_ready = False  # replacements can be created and scheduled
        self.kcm_ready = False  # nodes can be marked NotReady and evicted
        self.deferred: list[tuple[int, int, int]] = []
        self.latency = None
        self.latency_since = 0.0
        # Statistics.
        self.api = Episodes()
        self.quorum = Episodes()
        self.api_only = Episodes()  # API down while a quorum exists (elections, no apiserver)
        self.wl_eps = [Episodes() for _ in c.workloads]
        self.wl_rest = [Episodes() for _ in c.workloads]
        self.cover_count = [0] * len(c.workloads)
        self.election_gaps: list[float] = []
        self.election_causes: list[str] = []
        self.election_started = 0.0
        self.recoveries: list[list[float]] = [[] for _ in c.workloads]
        self.commit_seconds: dict[float, float] = {}
        self.above = Episodes()
        self.pending_pod_seconds = 0.0
        self.pending_since = 0.0
        self.max_pending = len(self.pending)
        self.hottest_after: list[float] = []
        self.peak = None
        self.util_dirty = True

    # -- heap ---------------------------------------------------------------------------
    def push(self, t: float, kind: int, a: int = 0, b: int = 0) -> None:
        self.seq += 1
        heapq.heappush(self.heap, (t, self.seq, kind, a, b))

    # -- main loop ----------------------------------------------------------------------
    def run(self) -> HistoryResult:
        h, m = self.h, self.m
        for d in h.initially_down:
            self.apply_domain(0.0, int(d), True, initial=True)
        alive_api = [n for n in m.api_nodes if self.node_up[n]] or m.api_nodes
        for comp in (KCM, SCHEDULER):
            if alive_api:
                self.holder[comp] = alive_api[int(self.rng.integers(len(alive_api)))]
        self.update_control_plane(0.0, initial=True)
        if self.rollouts and m.deployment_pods:
            self.push(float(self.rng.random()) * self.c.kubernetes.rollout_interval, ROLLOUT)
        for w in range(len(self.c.workloads)):
            down = self.ready_count[w] < m.workload_required[w]
            self.wl_eps[w].set(0.0, down)
            self.wl_rest[w].set(0.0, down and not self.cover_count[w])
        self.refresh_load(0.0)
        times, domains, downs = h.times, h.domains, h.down
        i, n_events, horizon = 0, len(times), h.horizon
        heap = self.heap
        while True:
            t_fail = times[i] if i < n_events else inf
            if heap and heap[0][0] <= t_fail:
                t = heap[0][0]
                if t > horizon:
                    break
                _, _, kind, a, b = heapq.heappop(heap)
                self.dispatch(t, kind, a, b)
            elif i < n_events:
                t = float(t_fail)
                if t > horizon:
                    break
                self.apply_domain(t, int(domains[i]), bool(downs[i]))
                i += 1
            else:
                break
            if self.util_dirty:
                self.refresh_load(t)
            if len(self.pending) > self.max_pending:  # once scheduling has settled at t
                self.max_pending = len(self.pending)
        return self.finish(horizon)

    def note(self, t: float, type_: str, reason: str, obj: str, message: str) -> None:
        self.events.append((t, type_, reason, obj, message))

    def pod_name(self, p: int) -> str:
        if self.pod_names is None:
            self.pod_names = self.m.initial_pod_names()
        return self.pod_names[p]

    def renamed(self, p: int) -> str:
        """A Deployment replacement gets a new name; a StatefulSet pod keeps its own."""
        if self.events is not None and not self.m.is_stateful[p] and not self.m.is_daemon[p]:
            self.pod_name(p)
            w = self.m.pod_workload[p]
            self.pod_counter[w] = self.pod_counter.get(w, self.m.workload_desired[w]) + 1
            self.pod_names[p] = f"{self.c.workloads[w].name}-{self.pod_counter[w] - 1}"
        return self.pod_name(p) if self.events is not None else ""

    def dispatch(self, t: float, kind: int, a: int, b: int) -> None:
        if kind == POD_READY:
            self.on_pod_ready(t, a, b)
        elif kind == NOT_READY:
            self.on_not_ready(t, a, b)
        elif kind == EVICT:
            self.on_evict(t, a, b)
        elif kind == ELECTION_DONE:
            self.on_election_done(t, a)
        elif kind == LEASE_ACQUIRE:
            self.on_lease_acquire(t, a, b)
        elif kind == LEASE_LOST:
            self.on_lease_lost(t, a, b)
        elif kind == DRAIN_TRY:
            self.on_drain_try(t, a)
        elif kind == ROLLOUT:
            self.on_rollout(t)

    # -- infrastructure -------------------------------------------------------------------
    def apply_domain(self, t: float, d: int, down: bool, initial: bool = False) -> None:
        m = self.m
        covered = m.cover_of_domain.get(d)
        if covered:
            for w in covered:
                self.cover_count[w] += 1 if down else -1
                self.wl_rest[w].set(t, self.wl_eps[w].down and not self.cover_count[w])
        if self.events is not None and not initial:
            dom = self.c.domains[d]
            self.note(t, "Warning" if down else "Normal", "DomainDown" if down else "DomainUp", dom.id,
                      f"{dom.kind} {dom.name} " + ("failed" if down else "repaired"))
        bit = m.link_bit.get(d)
        if bit is not None:
            self.cut = self.cut | bit if down else self.cut & ~bit
            if not initial:
                self.update_control_plane(t)
            return
        changed = []
        delta = 1 if down else -1
        for node in m.nodes_under[d]:
            before = self.down_count[node]
            self.down_count[node] = before + delta
            if (before == 0) != (before + delta == 0):
                changed.append(node)
        if not changed:
            return
        cp_touched = False
        workers_down = False
        for node in changed:
            if down:
                self.node_down(t, node, initial)
                workers_down |= m.worker_mask[node]
            else:
                self.node_returns(t, node)
            cp_touched |= node in m.cp_nodes
        if workers_down and not initial:
            self.new_failure_episode()
        if cp_touched and not initial:
            self.update_control_plane(t)
        if not down and self.controllers_ready:
            self.schedule_pending(t)

    def node_down(self, t: float, node: int, initial: bool) -> None:
        self.node_up[node] = False
        self.up_arr[node] = False
        self.node_epoch[node] += 1
        if self.unreachable[node]:
            self.unreachable[node] = False
            self.n_unreachable -= 1
        member = self.m.member_of_node.get(node)
        if member is not None:
            self.alive &= ~(1 << member)
        self.util_dirty = True
        for p in self.node_pods[node]:
            self.version[p] += 1  # a pod that was starting will not start
            if self.ready[p]:
                self.set_ready(t, p, False)
                self.down_since[p] = np.nan if initial else t
        if not self.not_ready[node]:
            self.push(t + self.c.kubernetes.node_monitor_grace_period, NOT_READY, node, self.node_epoch[node])

    def node_returns(self, t: float, node: int) -> None:
        self.node_up[node] = True
        self.up_arr[node] = True
        self.node_epoch[node] += 1
        member = self.m.member_of_node.get(node)
        if member is not None:
            self.alive |= 1 << member
        self.util_dirty = True
        if self.m.worker_mask[node] and not self.reaches_quorum(node):
            self.cut_off(t, node)
        else:
            self.node_visible(t, node)

    def node_visible(self, t: float, node: int) -> None:
        """The node is up and its kubelet reaches the API again: Ready, pods (re)start."""
        if self.not_ready[node]:
            self.not_ready[node] = False
            self.pl.usable[node] = self.m.worker_mask[node] and node not in self.draining
        self.evicted[node] = False
        startup = self.c.kubernetes.pod_startup
        for p in self.node_pods[node]:
            if self.terminating[p]:  # StatefulSet pod kept its identity: recreated in place
                self.terminating[p] = False
                self.m.scheduler.count(self.pl, p, node, +1)
            self.version[p] += 1
            self.push(t + startup, POD_READY, p, self.version[p])

    # -- region-link partitions seen by kubelets ------------------------------------------------
    def reaches_quorum(self, node: int) -> bool:
        """The node's region is in the partition that holds quorum (or nobody could tell)."""
        if self.component is None or not self.cut:
            return True
        return self.m.components(self.cut)[self.c.nodes[node].region] == self.component

    def cut_off(self, t: float, node: int) -> None:
        self.unreachable[node] = True
        self.n_unreachable += 1
        self.node_epoch[node] += 1
        self.not_ready[node] = False  # the grace period starts again from the cut
        self.push(t + self.c.kubernetes.node_monitor_grace_period, NOT_READY, node, self.node_epoch[node])

    def refresh_reachability(self, t: float) -> None:
        """After the partition changed: cut off workers that lost the quorum's partition,
        reconnect those that regained it. Frozen while no partition holds quorum."""
        if self.component is None or (not self.cut and not self.n_unreachable):
            return
        reconnected = False
        for node in self.m.workers:
            if not self.node_up[node]:
                continue
            reach = self.reaches_quorum(node)
            if not reach and not self.unreachable[node]:
                if self.events is not None:
                    self.note(t, "Warning", "NodeUnreachable", f"node/{self.c.nodes[node].name}",
                              "kubelet cut off from the API by a region link")
                self.cut_off(t, node)
            elif reach and self.unreachable[node]:
                self.unreachable[node] = False
                self.n_unreachable -= 1
                self.node_epoch[node] += 1
                self.node_visible(t, node)
                reconnected = True
        if reconnected and self.controllers_ready:
            self.schedule_pending(t)

    def on_not_ready(self, t: float, node: int, epoch: int) -> None:
        if epoch != self.node_epoch[node]:
            return
        if not self.kcm_ready:
            self.deferred.append((NOT_READY, node, epoch))
            return
        self.not_ready[node] = True
        self.pl.usable[node] = False
        if self.node_up[node]:  # cut off, not dead: its pods stop counting as ready
            for p in self.node_pods[node]:
                self.version[p] += 1
                if self.ready[p]:
                    self.set_ready(t, p, False)
                    self.down_since[p] = t
        if self.events is not None:
            name = self.c.nodes[node].name
            self.note(t, "Normal", "NodeNotReady", f"node/{name}", f"Node {name} status is now: NodeNotReady")
        self.push(t + self.c.kubernetes.not_ready_toleration, EVICT, node, epoch)
        if self.pending:  # with nodeTaintsPolicy: Honor a NotReady node leaves the spread domains
            self.schedule_pending(t)

    def on_evict(self, t: float, node: int, epoch: int) -> None:
        if epoch != self.node_epoch[node]:
            return
        if not self.kcm_ready:
            self.deferred.append((EVICT, node, epoch))
            return
        m, sch = self.m, self.m.scheduler
        self.evicted[node] = True
        for p in sorted(self.node_pods[node]):
            if m.is_daemon[p]:
                continue  # DaemonSet pods tolerate unreachable nodes forever
            if self.events is not None:
                self.note(t, "Normal", "TaintManagerEviction", f"pod/{self.pod_name(p)}",
                          f"Marking for deletion Pod default/{self.pod_name(p)}"
                          + (" (stays Terminating until its node returns: StatefulSet identity)"
                             if m.is_stateful[p] else ""))
            if m.is_stateful[p]:
                if not self.terminating[p]:  # stuck Terminating: identity held until the node returns
                    self.terminating[p] = True
                    sch.count(self.pl, p, node, -1)
                continue
            self.remove_pod(t, p, node)
        self.util_dirty = True
        self.schedule_pending(t)

    # -- pods -------------------------------------------------------------------------------
    def remove_pod(self, t: float, p: int, node: int) -> None:
        """The pod is deleted from ``node``; its controller creates a replacement, Pending."""
        self.m.scheduler.unbind(self.pl, p)
        self.node_pods[node].discard(p)
        self.version[p] += 1
        if self.ready[p]:
            self.set_ready(t, p, False)
            self.down_since[p] = t
        if self.events is not None:
            owner = "statefulset" if self.m.is_stateful[p] else "replicaset"
            new = self.renamed(p)
            self.note(t, "Normal", "SuccessfulCreate", f"{owner}/{self.c.workloads[self.m.pod_workload[p]].name}",
                      f"Created pod: {new}")
        self.add_pending(t, p)

    def add_pending(self, t: float, p: int) -> None:
        self.pending_pod_seconds += len(self.pending) * (t - self.pending_since)
        self.pending_since = t
        self.pending.add(p)

    def schedule_pending(self, t: float) -> None:
        if not self.pending or not self.controllers_ready:
            return
        m, sch = self.m, self.m.scheduler
        placed = []
        # Binding only adds load, so once a pod of a workload (and volume scope) fits nowhere,
        # its siblings fit nowhere either in this pass.
        hopeless: set[tuple[int, int]] = set()
        for p in sorted(self.pending):
            pin = m.pod_pin[p]
            key = (m.pod_workload[p], self.scope[p])
            if pin < 0 and key in hopeless and self.events is None:
                continue
            node = sch.pick(self.pl, p, only=pin if pin >= 0 else None, scope=self.scope[p])
            if node < 0:
                if pin < 0:
                    hopeless.add(key)
                if self.events is not None and p not in self.failed_noted:
                    self.failed_noted.add(p)
                    self.note(t, "Warning", "FailedScheduling", f"pod/{self.pod_name(p)}",
                              sch.explain(self.pl, p, scope=self.scope[p]))
                continue
            sch.bind(self.pl, p, node)
            if self.events is not None:
                self.failed_noted.discard(p)
                self.note(t, "Normal", "Scheduled", f"pod/{self.pod_name(p)}",
                          f"Successfully assigned default/{self.pod_name(p)} to {self.c.nodes[node].name}")
            if self.scope[p] < 0 and m.scope_level[p] is not None:
                self.scope[p] = m.scope_of(p, node)
            self.node_pods[node].add(p)
            placed.append(p)
            self.version[p] += 1
            if self.node_up[node]:
                self.push(t + self.c.kubernetes.pod_startup, POD_READY, p, self.version[p])
        if placed:
            self.pending_pod_seconds += len(self.pending) * (t - self.pending_since)
            self.pending_since = t
            self.pending.difference_update(placed)
            self.util_dirty = True

    def on_pod_ready(self, t: float, p: int, version: int) -> None:
        if version != self.version[p] or self.ready[p]:
            return
        node = self.pl.pod_node[p]
        if node < 0 or not self.node_up[node] or self.unreachable[node]:
            return
        self.set_ready(t, p, True)
        if self.events is not None:
            self.note(t, "Normal", "Started", f"pod/{self.pod_name(p)}",
                      f"Started container on {self.c.nodes[node].name}")
        since = self.down_since[p]
        if since == since:  # not NaN
            self.recoveries[self.m.pod_workload[p]].append(t - since)
        self.down_since[p] = np.nan

    def set_ready(self, t: float, p: int, ready: bool) -> None:
        self.ready[p] = ready
        w = self.m.pod_workload[p]
        self.ready_count[w] += 1 if ready else -1
        down = self.ready_count[w] < self.m.workload_required[w]
        self.wl_eps[w].set(t, down)
        self.wl_rest[w].set(t, down and not self.cover_count[w])

    # -- rollouts ---------------------------------------------------------------------------------
    def on_rollout(self, t: float) -> None:
        """A rolling update of every Deployment: each pod is placed afresh by the scheduler,
        which undoes the load concentrated by earlier failures. Rolling updates keep old pods
        until new ones are ready, so availability does not dip. Only on a healthy cluster;
        otherwise it is retried an hour later."""
        m, sch = self.m, self.m.scheduler
        healthy = self.controllers_ready and bool(self.up_arr[m.worker_mask].all()) \
            and not self.n_unreachable and not any(self.not_ready[n] for n in m.workers)
        if not healthy:
            self.push(t + ROLLOUT_RETRY_SECONDS, ROLLOUT)
            return
        self.push(t + self.c.kubernetes.rollout_interval, ROLLOUT)
        self.pending_pod_seconds += len(self.pending) * (t - self.pending_since)
        self.pending_since = t
        base = m.baseline.pod_node
        if all(self.pl.pod_node[p] == base[p] for p in m.other_pods):
            # Everything else sits where it started: the fresh placement is the initial one.
            self.pl = m.baseline.copy()
            self.node_pods = [set() for _ in range(m.n_nodes)]
            for p, node in enumerate(self.pl.pod_node):
                if node >= 0:
                    self.node_pods[node].add(p)
        else:
            for p in m.deployment_pods:
                node = self.pl.pod_node[p]
                if node >= 0:
                    sch.unbind(self.pl, p)
                    self.node_pods[node].discard(p)
            for p in m.deployment_pods:
                node = sch.pick(self.pl, p)
                if node >= 0:
                    sch.bind(self.pl, p, node)
                    self.node_pods[node].add(p)
        startup = self.c.kubernetes.pod_startup
        for p in m.deployment_pods:
            if self.pl.pod_node[p] < 0:
                self.pending.add(p)
                if self.ready[p]:
                    self.set_ready(t, p, False)
                    self.down_since[p] = t
                continue
            self.pending.discard(p)
            if not self.ready[p]:
                self.version[p] += 1
                self.push(t + startup, POD_READY, p, self.version[p])
        self.util_dirty = True

    # -- kubectl drain ---------------------------------------------------------------------------
    def start_drain(self, t: float, node: int) -> None:
        """Cordon ``node`` and evict its pods as `kubectl drain --ignore-daemonsets` does."""
        self.pl.usable[node] = False
        self.draining[node] = False
        if self.events is not None:
            name = self.c.nodes[node].name
            self.note(t, "Normal", "NodeNotSchedulable", f"node/{name}", f"Node {name} status is now: NodeNotSchedulable")
        self.push(t, DRAIN_TRY, node)

    def on_drain_try(self, t: float, node: int) -> None:
        """Evict what the disruption budget (minAvailable) allows; retry the rest in 5 s."""
        m = self.m
        blocked = []
        for p in sorted(self.node_pods[node]):
            if m.is_daemon[p]:
                continue
            w = m.pod_workload[p]
            healthy = self.ready_count[w]
            if self.ready[p] and healthy - 1 < m.workload_required[w]:
                blocked.append(p)
                continue
            if self.events is not None:
                self.note(t, "Normal", "Evicted", f"pod/{self.pod_name(p)}",
                          f"Evicting pod default/{self.pod_name(p)} (drain of {self.c.nodes[node].name})")
            self.remove_pod(t, p, node)
        self.util_dirty = True
        self.schedule_pending(t)
        if blocked:
            if self.events is not None and node not in self.drain_noted:
                self.drain_noted.add(node)
                for p in blocked:
                    self.note(t, "Warning", "EvictionBlocked", f"pod/{self.pod_name(p)}",
                              "Cannot evict pod as it would violate the pod's disruption budget "
                              f"(minAvailable {m.workload_required[m.pod_workload[p]]})")
            self.blocked_pods[node] = blocked
            self.push(t + DRAIN_RETRY_SECONDS, DRAIN_TRY, node)
        else:
            self.blocked_pods[node] = []
            self.draining[node] = True
            if self.events is not None:
                self.note(t, "Normal", "Drained", f"node/{self.c.nodes[node].name}", "node drained")

    # -- load ----------------------------------------------------------------------------------
    def refresh_load(self, t: float) -> None:
        self.util_dirty = False
        m = self.m
        mask = self.up_arr & m.worker_mask
        if mask.any():
            util = m.scheduler.utilization(self.pl)
            hottest = float(util[mask].max())
        else:
            hottest = 0.0
        self.above.set(t, hottest > m.utilization_limit + 1e-9)
        if self.peak is not None and hottest > self.peak:
            self.peak = hottest

    def new_failure_episode(self) -> None:
        """A failure took workers down: close the previous episode's peak, open a new one."""
        if self.peak is not None:
            self.hottest_after.append(self.peak)
        self.peak = 0.0
        self.util_dirty = True

    # -- control plane ------------------------------------------------------------------------
    def update_control_plane(self, t: float, initial: bool = False) -> None:
        m = self.m
        live, component = m.quorum_partition(self.alive, self.cut)
        disrupt = False
        if live is not None and not self.c.etcd.pre_vote:
            # Without pre-vote, a member that campaigned alone while cut off comes back
            # with a higher term and forces the leader to step down.
            for i in live:
                since = self.outside_since.pop(i, None)
                if since is not None and t - since >= self.c.etcd.election_timeout:
                    disrupt = True
        for i in range(len(m.member_nodes)):
            in_quorum = live is not None and i in live
            if self.alive >> i & 1 and not in_quorum:
                self.outside_since.setdefault(i, t)
            elif not self.alive >> i & 1:
                self.outside_since.pop(i, None)
        if self.events is not None and not initial and (live is None) != (self.live is None):
            n = len(m.member_nodes)
            if live is None:
                up = bin(self.alive).count("1")
                self.note(t, "Warning", "QuorumLost", "etcd",
                          f"no partition holds a quorum ({self.c.quorum} of {n}); {up} members up")
            else:
                self.note(t, "Normal", "QuorumRestored", "etcd", f"{len(live)} of {n} members reach each other")
        self.live, self.component = live, component
        self.quorum.set(t, live is None)
        self.refresh_reachability(t)
        if live is None:
            if self.leader >= 0 or self.electing:
                self.leader = -1
                self.electing = False
                self.election_epoch += 1
        elif initial:
            self.leader = live[int(self.rng.integers(len(live)))]
        elif self.electing:
            # The election goes on while its winner-to-be stays in the quorum's partition;
            # members joining or other members leaving do not reset the candidates' timers.
            if self.election_end_winner not in live:
                self.start_election(t, live, self.election_cause)
        elif self.leader < 0:
            self.start_election(t, live, "quorum-restored")
        elif self.leader not in live or disrupt:
            self.start_election(t, live, "leader-lost")
        self.refresh_api(t)

    def member_name(self, i: int) -> str:
        return self.c.nodes[self.m.member_nodes[i]].name

    def start_election(self, t: float, live: tuple, cause: str) -> None:
        if self.events is not None and not self.electing:
            if self.leader >= 0:
                self.note(t, "Warning", "LeaderLost", f"etcd/{self.member_name(self.leader)}",
                          f"leader {self.member_name(self.leader)} lost; election among "
                          + ", ".join(self.member_name(i) for i in live))
            else:
                self.note(t, "Normal", "ElectionStarted", "etcd",
                          "election among " + ", ".join(self.member_name(i) for i in live))
        if not self.electing:
            self.election_started = t
        self.leader = -1
        self.electing = True
        self.election_epoch += 1
        self.election_cause = cause
        gap, winner = self.m.election.sample(self.rng, live, cause)
        self.election_end_winner = winner
        self.push(t + gap, ELECTION_DONE, self.election_epoch)

    def on_election_done(self, t: float, epoch: int) -> None:
        if epoch != self.election_epoch or not self.electing:
            return
        self.electing = False
        self.leader = self.election_end_winner
        self.election_gaps.append(t - self.election_started)
        self.election_causes.append(self.election_cause)
        if self.events is not None:
            self.note(t, "Normal", "LeaderElected", f"etcd/{self.member_name(self.leader)}",
                      f"{self.member_name(self.leader)} elected leader; writes resume after "
                      f"{(t - self.election_started) * 1000:.0f} ms")
        self.refresh_api(t)

    def apiserver_reaches(self, node: int) -> bool:
        """An apiserver on ``node`` can serve writes: it is up and in the quorum's partition."""
        if not self.node_up[node] or self.component is None:
            return False
        comp = self.m.components(self.cut)
        return comp[self.c.nodes[node].region] == self.component

    def refresh_api(self, t: float) -> None:
        self.writes_ok = self.leader >= 0 and not self.electing
        api_ok = self.writes_ok and any(self.apiserver_reaches(n) for n in self.m.api_nodes)
        if self.events is not None and api_ok != self.api_ok and t > 0:
            self.note(t, "Normal" if api_ok else "Warning", "APIAvailable" if api_ok else "APIUnavailable",
                      "kube-apiserver", "the API accepts writes again" if api_ok else "the API cannot accept writes")
        self.api_ok = api_ok
        self.api.set(t, not api_ok)
        self.api_only.set(t, not api_ok and self.live is not None)
        # Commit latency, weighted by time.
        lat = self.m.commit_latency(self.leader, self.live) if self.writes_ok else None
        if lat != self.latency:
            if self.latency is not None:
                self.commit_seconds[self.latency] = self.commit_seconds.get(self.latency, 0.0) + t - self.latency_since
            self.latency, self.latency_since = lat, t
        self.refresh_leases(t)

    # -- kube-controller-manager / kube-scheduler leases ------------------------------------
    def refresh_leases(self, t: float) -> None:
        rp = self.c.leader_election.retry_period
        for comp in (KCM, SCHEDULER):
            h = self.holder[comp]
            if h >= 0:
                reaches = self.api_ok and self.apiserver_reaches(h)
                if not self.node_up[h]:
                    if self.events is not None:
                        self.note(t, "Warning", "LeaderLost", f"lease/{LEASE_NAMES[comp]}",
                                  f"holder {self.c.nodes[h].name} is down; standbys wait for the lease to expire")
                    if self.renewing[comp]:
                        self.lease_renew[comp] = t - self.rng.random() * rp
                    self.holder[comp] = -1
                    self.renewing[comp] = False
                    self.lease_epoch[comp] += 1
                    self.schedule_acquire(t, comp)
                elif not reaches and self.renewing[comp]:
                    self.renewing[comp] = False
                    self.lease_renew[comp] = t - self.rng.random() * rp
                    self.lease_epoch[comp] += 1
                    self.push(self.lease_renew[comp] + self.c.leader_election.renew_deadline,
                              LEASE_LOST, comp, self.lease_epoch[comp])
                elif reaches and not self.renewing[comp]:
                    self.renewing[comp] = True
                    self.lease_epoch[comp] += 1
            elif not self.acquire_pending[comp]:
                self.schedule_acquire(t, comp)
        self.refresh_controllers(t)

    def schedule_acquire(self, t: float, comp: int) -> None:
        """Standbys retry every retryPeriod (jitter 1.2); the first try after the lease
        expired, while the API answers, takes it."""
        if not self.api_ok:
            return
        candidates = [n for n in self.m.api_nodes if self.apiserver_reaches(n)]
        if not candidates:
            return
        le = self.c.leader_election
        start = max(t, self.lease_renew[comp] + le.lease_duration)
        a, b = le.retry_period, le.retry_period * (1.0 + LEASE_JITTER)
        k = len(candidates)
        # Residual time to each candidate's next try: size-biased period times a uniform.
        periods = np.sqrt(a * a + self.rng.random(k) * (b * b - a * a))
        residual = self.rng.random(k) * periods
        first = int(np.argmin(residual))
        self.acquire_pending[comp] = True
        self.lease_epoch[comp] += 1
        self.push(start + float(residual[first]), LEASE_ACQUIRE, comp, self.lease_epoch[comp] * 1024 + first)

    def on_lease_acquire(self, t: float, comp: int, token: int) -> None:
        epoch, first = divmod(token, 1024)
        if epoch != self.lease_epoch[comp]:
            return
        self.acquire_pending[comp] = False
        candidates = [n for n in self.m.api_nodes if self.apiserver_reaches(n)] if self.api_ok else []
        if not candidates:
            return  # retried when the API comes back (refresh_leases)
        self.holder[comp] = candidates[min(first, len(candidates) - 1)]
        if self.events is not None:
            name = self.c.nodes[self.holder[comp]].name
            self.note(t, "Normal", "LeaderElection", f"lease/{LEASE_NAMES[comp]}", f"{name} became leader")
        self.renewing[comp] = True
        self.lease_epoch[comp] += 1
        self.refresh_controllers(t)

    def on_lease_lost(self, t: float, comp: int, epoch: int) -> None:
        if epoch != self.lease_epoch[comp]:
            return
        if self.events is not None:
            self.note(t, "Warning", "LeaderElectionLost", f"lease/{LEASE_NAMES[comp]}",
                      f"{self.c.nodes[self.holder[comp]].name} could not renew within renewDeadline")
        self.holder[comp] = -1
        self.lease_epoch[comp] += 1
        self.acquire_pending[comp] = False
        self.schedule_acquire(t, comp)
        self.refresh_controllers(t)

    def refresh_controllers(self, t: float) -> None:
        """NotReady and eviction need the API and a controller-manager leader; creating and
        placing replacements also needs a scheduler leader."""
        kcm = self.api_ok and self.renewing[KCM]
        ready = kcm and self.renewing[SCHEDULER]
        kcm_back, ready_back = kcm and not self.kcm_ready, ready and not self.controllers_ready
        self.kcm_ready, self.controllers_ready = kcm, ready
        if kcm_back and self.deferred:
            deferred, self.deferred = self.deferred, []
            for kind, node, epoch in deferred:
                if kind == NOT_READY:
                    self.on_not_ready(t, node, epoch)
                else:
                    self.on_evict(t, node, epoch)
        if ready_back:
            self.schedule_pending(t)

    # -- end -------------------------------------------------------------------------------------
    def finish(self, horizon: float) -> HistoryResult:
        for eps in (self.api, self.quorum, self.api_only, self.above, *self.wl_eps, *self.wl_rest):
            eps.close(horizon)
        if self.latency is not None:
            self.commit_seconds[self.latency] = self.commit_seconds.get(self.latency, 0.0) + horizon - self.latency_since
        self.pending_pod_seconds += len(self.pending) * (horizon - self.pending_since)
        if self.peak is not None:
            self.hottest_after.append(self.peak)
        h = self.h
        dom_fail = np.bincount(h.domains[h.down], minlength=len(self.c.domains))
        return HistoryResult(
            index=h.index, horizon=horizon, weight=h.weight, failures=int(h.down.sum()),
            domain_failures=dom_fail, api=self.api, quorum=self.quorum, api_only=self.api_only, workloads=self.wl_eps, workload_rest=self.wl_rest,
            election_gaps=self.election_gaps, election_causes=self.election_causes,
            recoveries=self.recoveries, commit_seconds=self.commit_seconds, above_limit=self.above,
            pending_pod_seconds=self.pending_pod_seconds, max_pending=self.max_pending,
            hottest_after_failure=self.hottest_after, baseline_hottest=self.m.baseline_hottest)


def simulate_history(model: ClusterModel, history: History, seed: np.random.SeedSequence) -> HistoryResult:
    """Play one history with its own random stream (for elections, leases)."""
    return HistoryRun(model, history, np.random.default_rng(seed)).run()
