"""Zone-aware, rate-limited NoExecute tainting: the eviction half of the node lifecycle
controller, as kube-controller-manager v1.30-1.33 runs it.

Sources (kubernetes/kubernetes): ``pkg/controller/nodelifecycle/node_lifecycle_controller.go``
(``processTaintBaseEviction``, ``doNoExecuteTaintingPass``, ``handleDisruption``,
``ComputeZoneState``, ``setLimiterInZone``, ``ReducedQPSFunc``, ``HealthyQPSFunc``),
``pkg/controller/nodelifecycle/scheduler/rate_limited_queue.go`` (``Try``, ``SwapLimiter``,
``EvictionRateLimiterBurst = 1``), ``pkg/controller/tainteviction/taint_eviction.go``
(pods leave ``tolerationSeconds`` after the taint is seen).

- A node that turns NotReady joins its zone's FIFO taint queue. A token bucket of burst
  1 lets one node per ``1/rate`` seconds be tainted ``NoExecute``; its pods are deleted
  ``notReadyToleration`` (300 s) later. A node that is Ready again leaves the queue and
  loses its taint (pending evictions are cancelled).
- Each zone's rate follows its state: Normal and FullDisruption at ``nodeEvictionRate``
  (0.1/s); PartialDisruption (more than 2 NotReady and at least
  ``unhealthyZoneThreshold`` of the zone) at ``secondaryNodeEvictionRate`` (0.01/s) in
  zones of more than ``largeClusterSizeThreshold`` (50) nodes, and 0 in smaller ones.
- When every zone is fully disrupted the controller assumes its own connectivity broke:
  every taint is removed and tainting stops until a zone has a Ready node again; the
  queues then restart from the NotReady nodes with drained buckets.

The controller lives in kube-controller-manager: without a leader nothing is tainted or
evicted, and a new leader starts from nothing in memory (fresh buckets, taints it finds
re-armed from its own start). This class keeps the zones' state; :class:`NodeLifecycle`
tells it what turns NotReady or Ready and carries out the taints.
"""

from __future__ import annotations

import weakref
from dataclasses import dataclass
from math import inf
from typing import Callable

import numpy as np

from ..cluster_model import ClusterModel
from ..eventlog import EventLog
from ..timers import TAINT, Timers

NORMAL, PARTIAL, FULL = "Normal", "PartialDisruption", "FullDisruption"
#: The taint queues are tried every NodeEvictionPeriod (100 ms) upstream; here at the instant.
KUBERNETES_ROLES = ("control-plane", "apiserver", "worker")  # external etcd hosts are not nodes


def zone_state(not_ready: int, size: int, threshold: float) -> str:
    """``ComputeZoneState``: fully disrupted without a Ready node, partially when more than
    two and at least ``threshold`` of the nodes are NotReady (float32, as upstream)."""
    if size and not_ready == size:
        return FULL
    if not_ready > 2 and np.float32(not_ready) / np.float32(size) >= np.float32(threshold):
        return PARTIAL
    return NORMAL


def zone_rate(state: str, size: int, k) -> float:
    """``setLimiterInZone``: the taint rate of a zone in ``state`` (``k``: KubernetesTiming)."""
    if state == PARTIAL:
        return k.secondary_node_eviction_rate if size > k.large_cluster_size_threshold else 0.0
    return k.node_eviction_rate


_ZONES: "weakref.WeakKeyDictionary[ClusterModel, tuple]" = weakref.WeakKeyDictionary()


def zones_of(model: ClusterModel) -> tuple[list[int], list[int], list[str]]:
    """Per node: its zone's index (-1: not a Kubernetes node), whether it counts in its
    zone's state (control-plane nodes unless excluded from disruption checks), and the
    zone names. The zone is the ``kubernetes.zoneLevel`` domain (``none``: one zone).
    Computed once per model."""
    hit = _ZONES.get(model)
    if hit is None:
        hit = _ZONES[model] = _zones_of(model)
    return hit


_ZONE_SIZES: "weakref.WeakKeyDictionary[ClusterModel, tuple[int, ...]]" = weakref.WeakKeyDictionary()


def zone_sizes(model: ClusterModel) -> tuple[int, ...]:
    """Per zone, the nodes that count in its state (see :func:`zones_of`). Computed once per model."""
    hit = _ZONE_SIZES.get(model)
    if hit is None:
        zone, counted, names = zones_of(model)
        size = [0] * len(names)
        for node, z in enumerate(zone):
            if z >= 0:
                size[z] += counted[node]
        hit = _ZONE_SIZES[model] = tuple(size)
    return hit


_KUBE_NODES: "weakref.WeakKeyDictionary[ClusterModel, list[int]]" = weakref.WeakKeyDictionary()


def kube_nodes(model: ClusterModel) -> list[int]:
    """The Kubernetes nodes (workers and control-plane nodes, not external etcd hosts): each
    has a kubelet that goes NotReady when it cannot reach the API. Computed once per model."""
    hit = _KUBE_NODES.get(model)
    if hit is None:
        hit = _KUBE_NODES[model] = [n for n, z in enumerate(zones_of(model)[0]) if z >= 0]
    return hit


def _zones_of(model: ClusterModel) -> tuple[list[int], list[int], list[str]]:
    c = model.cluster
    k = c.kubernetes
    names: dict[int, int] = {}
    zone, counted, labels = [], [], []
    for n in c.nodes:
        if n.role not in KUBERNETES_ROLES:
            zone.append(-1)
            counted.append(0)
            continue
        key = -1 if k.zone_level == "none" else getattr(n, k.zone_level)
        if key not in names:
            names[key] = len(names)
            labels.append("cluster" if key < 0 else c.domains[key].name)
        zone.append(names[key])
        # A machine an autoscaler may add is left out of its zone's state (its size is static here).
        counted.append(0 if n.standby or (n.role != "worker" and k.exclude_control_plane) else 1)
    return zone, counted, labels


@dataclass(frozen=True)
class ZoneView:
    """Every zone's size, NotReady count and state once ``not_ready`` nodes are NotReady."""

    size: list[int]
    down: list[int]
    state: list[str]

    @property
    def halted(self) -> bool:
        """Every counted zone fully disrupted: the controller evicts nothing."""
        return any(self.size) and all(st == FULL for st, n in zip(self.state, self.size) if n)


def zones_after(model: ClusterModel, not_ready) -> ZoneView:
    """The zone states on a healthy cluster once the ``not_ready`` nodes are NotReady."""
    k = model.cluster.kubernetes
    zone, counted, names = zones_of(model)
    size, down = list(zone_sizes(model)), [0] * len(names)
    for node in not_ready:
        if zone[node] >= 0:
            down[zone[node]] += counted[node]
    return ZoneView(size, down, [zone_state(down[z], size[z], k.unhealthy_zone_threshold) if size[z] else NORMAL
                                 for z in range(len(names))])


@dataclass
class EvictionStats:
    """What the eviction rules did in one history (summed over histories for results.json)."""

    taints: int = 0  # nodes tainted NoExecute
    stalls: int = 0  # a zone entered partial disruption with rate 0 (nothing evicted)
    stalled_seconds: float = 0.0  # summed over zones
    halts: int = 0  # every zone fully disrupted: evictions halted
    halted_seconds: float = 0.0
    #: every zone with workers fully disrupted, yet a counted control-plane zone kept the
    #: controller evicting (kubernetes#128528)
    kept_evicting: int = 0

    def merge(self, other: "EvictionStats") -> "EvictionStats":
        return EvictionStats(self.taints + other.taints, self.stalls + other.stalls,
                             self.stalled_seconds + other.stalled_seconds, self.halts + other.halts,
                             self.halted_seconds + other.halted_seconds, self.kept_evicting + other.kept_evicting)


class TaintQueue:
    """One zone's FIFO of NotReady nodes and its token bucket (burst 1): a token is there
    from ``ready_at`` on; taking it makes the next one due ``1/rate`` later."""

    __slots__ = ("nodes", "rate", "ready_at", "epoch")

    def __init__(self, rate: float, t: float = 0.0):
        self.nodes: dict[int, None] = {}  # insertion-ordered: a FIFO with O(1) removal
        self.rate = rate
        self.ready_at = t if rate > 0 else inf
        self.epoch = 0

    def swap(self, rate: float, t: float) -> None:
        """``SwapLimiter``: a new bucket, full only if the old one had a token now."""
        if rate == self.rate:
            return
        had_token = t >= self.ready_at
        self.rate = rate
        self.ready_at = inf if rate <= 0 else (t if had_token else t + 1.0 / rate)

    def take(self, t: float) -> int:
        """The next node to taint at ``t``, or -1 (empty queue, or no token yet)."""
        if not self.nodes or t < self.ready_at:
            return -1
        self.ready_at = t + 1.0 / self.rate
        node = next(iter(self.nodes))
        del self.nodes[node]
        return node


class ZoneTainter:
    """Zone states, taint queues and which nodes carry the NoExecute taint."""

    def __init__(self, model: ClusterModel, timers: Timers, log: EventLog | None, acting: Callable[[], bool],
                 taint: Callable, untaint: Callable):
        self.m, self.c, self.k = model, model.cluster, model.cluster.kubernetes
        self.timers, self.log = timers, log
        self.acting = acting  # a controller-manager leads and reaches the API
        self.taint_node, self.untaint_node = taint, untaint  # NodeLifecycle carries the taints out
        self.zone, self.counted, self.names = zones_of(model)
        n_zones = len(self.names)
        self.size = [0] * n_zones
        for z, w in zip(self.zone, self.counted):
            if z >= 0:
                self.size[z] += w
        self.not_ready = [0] * n_zones  # counted NotReady nodes per zone
        self.state = [NORMAL] * n_zones
        self.n_full = 0  # zones with counted nodes in FullDisruption
        self.n_zones_counted = sum(1 for s in self.size if s)
        self.halted = False  # every zone fully disrupted: no tainting, no taints
        self.queues = [TaintQueue(self.k.node_eviction_rate) for _ in range(n_zones)]
        self.tainted = [False] * model.n_nodes
        self.is_not_ready = [False] * model.n_nodes
        self.dirty: set[int] = set()  # zones whose NotReady count changed since the last pass
        self.pass_at = -inf
        self.pass_epoch = 0
        self.stats = EvictionStats()
        self.stalled_since = [inf] * n_zones  # partial disruption with rate 0 since
        self.halted_since = inf
        self.worker_zones = sorted({self.zone[n] for n in model.workers if self.zone[n] >= 0})
        self.workers_all_down = False

    # -- what the node lifecycle reports ------------------------------------------------------
    def node_not_ready(self, t: float, node: int) -> None:
        z = self.zone[node]
        if z < 0 or self.is_not_ready[node]:
            return
        self.is_not_ready[node] = True
        self.not_ready[z] += self.counted[node]
        if not self.tainted[node] and not self.halted:
            self.queues[z].nodes[node] = None
        self.changed(t, z)

    def node_ready(self, t: float, node: int) -> None:
        z = self.zone[node]
        if z < 0 or not self.is_not_ready[node]:
            return
        self.is_not_ready[node] = False
        self.not_ready[z] -= self.counted[node]
        self.queues[z].nodes.pop(node, None)
        if self.tainted[node]:
            self.tainted[node] = False
            self.untaint_node(node)
        self.changed(t, z)

    def changed(self, t: float, z: int) -> None:
        """The controller sees the change in its pass, once everything at ``t`` has happened
        (upstream: zone states once per 5 s pass, after every node of that pass)."""
        self.dirty.add(z)
        if self.pass_at != t:
            self.pass_at = t
            self.pass_epoch += 1
            self.timers.push(t, TAINT, -1, self.pass_epoch)

    # -- zone states (handleDisruption) --------------------------------------------------------
    def controller_pass(self, t: float) -> None:
        """States of the zones that changed, the all-zones check, the new rates, then tainting."""
        if not self.acting():
            return  # the zones stay dirty until a leader looks (controller_resumed / controller_back)
        changed = []
        for z in sorted(self.dirty):
            if not self.size[z]:
                self.schedule(t, z)
                continue
            new = zone_state(self.not_ready[z], self.size[z], self.k.unhealthy_zone_threshold)
            old = self.state[z]
            if new != old:
                self.state[z] = new
                self.n_full += (new == FULL) - (old == FULL)
                changed.append(z)
                self.note_state(t, z)
            else:
                self.schedule(t, z)
        self.dirty.clear()
        all_full = self.n_zones_counted > 0 and self.n_full == self.n_zones_counted
        if all_full and not self.halted:
            self.halt(t)
        elif self.halted and not all_full:
            self.resume(t)
        elif not self.halted:
            for z in changed:
                self.queues[z].swap(zone_rate(self.state[z], self.size[z], self.k), t)
                self.schedule(t, z)
        down = bool(self.worker_zones) and all(self.state[z] == FULL for z in self.worker_zones)
        if down and not self.halted and not self.workers_all_down:
            self.stats.kept_evicting += 1
            if self.log is not None:
                self.log.note(t, "Warning", "EvictionsContinue", "node-lifecycle-controller",
                              "every worker zone is fully disrupted, but a control-plane zone counts as "
                              "healthy: evictions go on (kubernetes#128528; controlPlane.excludeFromDisruption)")
        self.workers_all_down = down

    def note_state(self, t: float, z: int) -> None:
        state, rate = self.state[z], zone_rate(self.state[z], self.size[z], self.k)
        stalled = state == PARTIAL and rate <= 0
        if stalled and self.stalled_since[z] == inf:
            self.stalled_since[z] = t
            self.stats.stalls += 1
        elif not stalled and self.stalled_since[z] < inf:
            self.stats.stalled_seconds += t - self.stalled_since[z]
            self.stalled_since[z] = inf
        if self.log is not None:
            self.log.note(t, "Warning" if state != NORMAL else "Normal", "ZoneState", f"zone/{self.names[z]}",
                          f"zone {self.names[z]} is now {state}: {self.not_ready[z]} of {self.size[z]} nodes "
                          f"NotReady, taint rate {rate:g}/s" + (" (nothing is evicted while it lasts)"
                                                                  if stalled else ""))

    def close(self, t: float) -> "EvictionStats":
        """The history ends at ``t``: close the open episodes."""
        for z, since in enumerate(self.stalled_since):
            if since < inf:
                self.stats.stalled_seconds += t - since
        if self.halted_since < inf:
            self.stats.halted_seconds += t - self.halted_since
        return self.stats

    def halt(self, t: float, continued: bool = False) -> None:
        """Every zone fully disrupted: remove every taint, stop tainting ("master disruption")."""
        self.halted = True
        if not continued:
            self.halted_since = t
            self.stats.halts += 1
        if self.log is not None and not continued:
            self.log.note(t, "Warning", "EvictionsHalted", "node-lifecycle-controller",
                          "every zone is fully disrupted: the controller assumes its own network is cut, "
                          "removes all NoExecute taints and stops evicting")
        for node, tainted in enumerate(self.tainted):
            if tainted:
                self.tainted[node] = False
                self.untaint_node(node)
        for q in self.queues:
            q.nodes.clear()
            q.swap(0.0, t)

    def resume(self, t: float) -> None:
        """A zone has a Ready node again: queues restart from the NotReady nodes, drained."""
        self.halted = False
        self.stats.halted_seconds += t - self.halted_since
        self.halted_since = inf
        if self.log is not None:
            self.log.note(t, "Normal", "EvictionsResumed", "node-lifecycle-controller",
                          "a zone has a Ready node again: tainting resumes")
        self.requeue(t)

    def requeue(self, t: float) -> None:
        for node, nr in enumerate(self.is_not_ready):
            if nr and not self.tainted[node]:
                self.queues[self.zone[node]].nodes[node] = None
        for z, q in enumerate(self.queues):
            q.swap(zone_rate(self.state[z], self.size[z], self.k), t)
            self.schedule(t, z)

    # -- the tainting pass ----------------------------------------------------------------------
    def schedule(self, t: float, z: int) -> None:
        """The zone's next tainting pass, when its queue has a node and its bucket a token."""
        q = self.queues[z]
        if self.halted or not q.nodes or q.ready_at == inf:
            return
        q.epoch += 1
        self.timers.push(max(t, q.ready_at), TAINT, z, q.epoch)

    def on_taint(self, t: float, z: int, epoch: int) -> None:
        """A TAINT timer: the controller's pass (``z`` = -1), or zone ``z``'s next token."""
        if z < 0:
            if epoch == self.pass_epoch:
                self.controller_pass(t)
            return
        q = self.queues[z]
        if epoch != q.epoch or self.halted or not self.acting():
            return  # without a leader the queue waits: controller_resumed / controller_back
        node = q.take(t)
        if node >= 0 and not self.tainted[node]:  # a taint found at takeover still took its token
            self.tainted[node] = True
            self.stats.taints += 1
            self.taint_node(t, node)
        self.schedule(t, z)

    # -- controller-manager leadership ------------------------------------------------------------
    def controller_back(self, t: float) -> None:
        """A new leader: fresh buckets; every NotReady node is queued again in node order
        (taints it finds stay, and still take a token); zone states from scratch."""
        self.queues = [TaintQueue(self.k.node_eviction_rate, t) for _ in self.names]
        for node, nr in enumerate(self.is_not_ready):
            if nr:
                self.queues[self.zone[node]].nodes[node] = None
        self.dirty.clear()
        for z, size in enumerate(self.size):
            new = zone_state(self.not_ready[z], size, self.k.unhealthy_zone_threshold) if size else NORMAL
            if new != self.state[z]:
                self.state[z] = new
                self.note_state(t, z)
        self.n_full = sum(1 for z, size in enumerate(self.size) if size and self.state[z] == FULL)
        if self.n_zones_counted and self.n_full == self.n_zones_counted:
            if self.halted:  # still halted: the new leader removes taints it finds, evicts nothing
                self.halted = False
            self.halt(t, continued=self.halted_since < inf)
            return
        if self.halted:
            self.halted = False
            self.stats.halted_seconds += t - self.halted_since
            self.halted_since = inf
        for z, q in enumerate(self.queues):
            q.swap(zone_rate(self.state[z], self.size[z], self.k), t)
            self.schedule(t, z)

    def controller_resumed(self, t: float) -> None:
        """The same leader acts again after a pause (the API was briefly away): its pass and
        its queues go on."""
        if self.dirty:
            self.controller_pass(t)
        for z in range(len(self.queues)):
            self.schedule(t, z)
