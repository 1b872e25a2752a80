"""Node lifecycle: Ready, NotReady after the grace period, taint, eviction after the toleration.

A node that dies, or whose kubelet is cut off from the partition holding quorum by
a region link, stops renewing its node lease (every 10 s). The node lifecycle
controller (in kube-controller-manager) checks every 5 s and marks a node NotReady
once ``node_monitor_grace_period`` has passed since the last renewal it saw, so
NotReady lands 40-55 s after a failure with the 50 s grace: both phases are drawn.
The node then joins its zone's rate-limited taint queue (:class:`~.eviction.ZoneTainter`)
and its pods are evicted ``not_ready_toleration`` after its taint. A node that returns,
or reconnects, is Ready again, untainted, and its pods start.

Everything here needs a controller-manager leader. While the same leader is only
cut off from the API for a moment, what falls due waits and happens when it is back.
A new leader starts from nothing in memory (``tryUpdateNodeHealth`` takes "now" as
each node's last probe; taint timers are in memory only): every grace period starts
again at the takeover, and taints it finds evict ``not_ready_toleration`` after it.

Sources: ``pkg/controller/nodelifecycle/node_lifecycle_controller.go`` (nodeMonitorPeriod 5 s,
``tryUpdateNodeHealth``), ``pkg/kubelet/nodelease`` (renew interval = 25% of the 40 s lease),
``pkg/controller/tainteviction/taint_eviction.go``, ``pkg/controller/podgc`` (out-of-service).

Each node's ``node_epoch`` changes whenever its NotReady clock restarts, ``taint_epoch``
whenever its eviction clock does, so stale NOT_READY / EVICT timers are dropped.
"""

from __future__ import annotations

import math

import numpy as np

from ..cluster_model import ClusterModel
from ..controlplane.etcd import Etcd
from ..eventlog import EventLog
from .eviction import ZoneTainter, kube_nodes, zones_of
from ..infrastructure import Infrastructure
from ..controlplane.leases import Leases
from ..timers import EVICT, NOT_READY, OUT_OF_SERVICE, Timers
from ..workloads.controllers import Workloads

#: kubelet node lease renewals (25% of nodeLeaseDurationSeconds 40) and the controller's
#: nodeMonitorPeriod, in seconds.
NODE_LEASE_RENEW_INTERVAL = 10.0
NODE_MONITOR_PERIOD = 5.0


class NodeLifecycle:
    """Per-node Ready / NotReady / tainted / evicted / cut-off state and its timers."""

    def __init__(self, model: ClusterModel, infra: Infrastructure, etcd: Etcd, leases: Leases,
                 work: Workloads, timers: Timers, rng: np.random.Generator, log: EventLog | None):
        self.m, self.c, self.k = model, model.cluster, model.cluster.kubernetes
        self.infra, self.etcd, self.leases, self.work, self.timers, self.log = infra, etcd, leases, work, timers, log
        self.rng = rng
        n = model.n_nodes
        self.node_epoch = [0] * n
        self.taint_epoch = [0] * n
        self.not_ready = [False] * n
        self.evicted = [False] * n
        self.out_of_service = [False] * n  # the operator's taint is on (a dead node)
        self.forced = [False] * n  # ... and its pods were force-deleted
        self.oos_epoch = [0] * n
        #: Up, but cut off from the quorum's partition by a region link: its kubelet cannot
        #: post status, so it goes NotReady and its pods are evicted like a dead node's.
        self.unreachable = [False] * n
        self.n_unreachable = 0
        self.deferred: list[tuple[int, int, int]] = []  # (NOT_READY | EVICT, node, epoch) awaiting the leader
        self.monitor_phase = float(rng.random()) * NODE_MONITOR_PERIOD  # the controller's 5 s ticks
        self.generation = leases.kcm_generation
        #: Kubernetes nodes (workers and control-plane nodes; not external etcd hosts): a
        #: control-plane node's kubelet cut off from the quorum cannot renew its lease either.
        self.kube_nodes = kube_nodes(model)
        self.is_kube_node = [z >= 0 for z in zones_of(model)[0]]
        self.zones = ZoneTainter(model, timers, log, lambda: self.leases.kcm_ready, self.taint, self.untaint)

    def kubelet_reports(self, node: int) -> bool:
        """The node is up and its kubelet reaches the API (its pods can turn Ready)."""
        return self.infra.node_up[node] and not self.unreachable[node]

    def all_workers_ready(self) -> bool:
        return not any(self.not_ready[n] or self.unreachable[n] for n in self.m.workers)

    # -- when NotReady lands ------------------------------------------------------------------
    def next_tick(self, x: float) -> float:
        """The controller's first check strictly after ``x``."""
        phase = self.monitor_phase
        return phase + NODE_MONITOR_PERIOD * (math.floor((x - phase) / NODE_MONITOR_PERIOD) + 1)

    def start_grace(self, t: float, node: int) -> None:
        """The kubelet stopped renewing at ``t``; its last renewal was up to 10 s before."""
        self.node_epoch[node] += 1
        last_renewal = t - float(self.rng.random()) * NODE_LEASE_RENEW_INTERVAL
        self.timers.push(self.next_tick(last_renewal + self.k.node_monitor_grace_period), NOT_READY, node,
                         self.node_epoch[node])

    # -- nodes going and coming -----------------------------------------------------------
    def node_down(self, t: float, node: int, initial: bool) -> None:
        """``node`` died (Infrastructure already marked it down): its pods stop; NotReady follows."""
        if self.unreachable[node]:
            self.unreachable[node] = False
            self.n_unreachable -= 1
        self.work.node_lost(t, node, initial)
        if not self.not_ready[node]:
            self.start_grace(t, node)
        else:  # NotReady already (cut off by a region link), now dead
            self.arm_out_of_service(t, node)

    def node_returns(self, t: float, node: int) -> None:
        """``node`` is back up: Ready again, unless a region link keeps it cut off."""
        if self.is_kube_node[node] and not self.reaches_quorum(node):
            # Up but cut off: no renewal reaches the API, so its NotReady clock runs on.
            self.unreachable[node] = True
            self.n_unreachable += 1
            return
        self.node_epoch[node] += 1
        self.node_visible(t, node)

    def node_visible(self, t: float, node: int) -> None:
        """The node is up and its kubelet reaches the API again: Ready, untainted, pods (re)start."""
        was_not_ready = self.not_ready[node]
        self.not_ready[node] = False
        self.evicted[node] = False
        self.out_of_service[node] = self.forced[node] = False
        self.oos_epoch[node] += 1
        self.zones.node_ready(t, node)
        self.work.node_ready(t, node, was_not_ready)

    # -- region-link partitions seen by kubelets ------------------------------------------------
    def reaches_quorum(self, node: int) -> bool:
        """The node's region is in the partition that holds quorum (or nobody could tell)."""
        if not self.etcd.quorum_held() or not self.infra.cut:
            return True
        return self.etcd.joins_quorum(node)

    def cut_off(self, t: float, node: int) -> None:
        self.unreachable[node] = True
        self.n_unreachable += 1
        if not self.not_ready[node]:
            self.start_grace(t, node)

    def refresh_reachability(self, t: float) -> None:
        """After the partition changed: cut off nodes that lost the quorum's partition,
        reconnect those that regained it. Frozen while no partition holds quorum."""
        if not self.etcd.quorum_held() or (not self.infra.cut and not self.n_unreachable):
            return
        reconnected = False
        node_up = self.infra.node_up
        for node in self.kube_nodes:
            if not node_up[node]:
                continue
            reach = self.reaches_quorum(node)
            if not reach and not self.unreachable[node]:
                if self.log is not None:
                    self.log.note(t, "Warning", "NodeUnreachable", f"node/{self.c.nodes[node].name}",
                                  "kubelet cut off from the API by a region link")
                self.cut_off(t, node)
            elif reach and self.unreachable[node]:
                self.unreachable[node] = False
                self.n_unreachable -= 1
                self.node_epoch[node] += 1
                self.node_visible(t, node)
                reconnected = True
        if reconnected and self.leases.controllers_ready:
            self.work.request_pass()

    # -- the node lifecycle controller --------------------------------------------------------
    def on_not_ready(self, t: float, node: int, epoch: int) -> None:
        """The grace period passed without a renewal: NotReady, the node joins its zone's
        taint queue, and the scheduler stops using it."""
        if epoch != self.node_epoch[node]:
            return
        if not self.leases.kcm_ready:
            self.deferred.append((NOT_READY, node, epoch))
            return
        self.not_ready[node] = True
        self.work.node_not_ready(t, node, self.infra.node_up[node])
        if self.log is not None:
            name = self.c.nodes[node].name
            self.log.note(t, "Normal", "NodeNotReady", f"node/{name}", f"Node {name} status is now: NodeNotReady")
        self.zones.node_not_ready(t, node)
        self.arm_out_of_service(t, node)
        # With nodeTaintsPolicy: Honor a NotReady node leaves the spread domains.
        self.work.request_pass()

    def taint(self, t: float, node: int) -> None:
        """The NoExecute taint is on: the node's pods leave ``not_ready_toleration`` later."""
        self.taint_epoch[node] += 1
        if self.log is not None:
            name = self.c.nodes[node].name
            self.log.note(t, "Normal", "NoExecuteTaint", f"node/{name}",
                          f"node.kubernetes.io/unreachable:NoExecute added; pods leave in "
                          f"{self.k.not_ready_toleration:g} s")
        self.timers.push(t + self.k.not_ready_toleration, EVICT, node, self.taint_epoch[node])

    def untaint(self, node: int) -> None:
        self.taint_epoch[node] += 1  # a pending eviction is cancelled

    def on_evict(self, t: float, node: int, epoch: int) -> None:
        """The toleration ran out: the node's pods are evicted."""
        if epoch != self.taint_epoch[node]:
            return
        if not self.leases.kcm_ready:
            self.deferred.append((EVICT, node, epoch))
            return
        self.evicted[node] = True
        self.work.evict_node(t, node)

    # -- out-of-service (an operator's taint) ---------------------------------------------------
    def arm_out_of_service(self, t: float, node: int) -> None:
        """An operator taints a dead worker out-of-service ``out_of_service_after`` after NotReady."""
        after = self.k.out_of_service_after
        if after is not None and not self.infra.node_up[node] and self.m.worker_mask[node]:
            self.oos_epoch[node] += 1
            self.timers.push(t + after, OUT_OF_SERVICE, node, self.oos_epoch[node])

    def on_out_of_service(self, t: float, node: int, epoch: int) -> None:
        if epoch != self.oos_epoch[node] or self.infra.node_up[node]:
            return
        if self.log is not None:
            name = self.c.nodes[node].name
            self.log.note(t, "Warning", "OutOfService", f"node/{name}",
                          "node.kubernetes.io/out-of-service:NoExecute applied by the operator")
        self.out_of_service[node] = True
        self.force_delete(t, node)

    def force_delete(self, t: float, node: int) -> None:
        """With the out-of-service taint the pod garbage collector force-deletes the node's pods,
        StatefulSet ones included, so they are recreated elsewhere (in their volume's scope).
        Needs a controller-manager; waits for one otherwise."""
        if not self.leases.kcm_ready or self.forced[node]:
            return
        self.forced[node] = self.evicted[node] = True
        self.work.force_delete_node(t, node)

    # -- controller-manager leadership ------------------------------------------------------------
    def controller_manager_back(self, t: float) -> None:
        """A controller-manager leads again. The same leader does what waited for it, in
        order; a new one starts every clock afresh."""
        generation = self.leases.kcm_generation
        for node, oos in enumerate(self.out_of_service):
            if oos:
                self.force_delete(t, node)
        if generation == self.generation:
            deferred, self.deferred = self.deferred, []
            for kind, node, epoch in deferred:
                (self.on_not_ready if kind == NOT_READY else self.on_evict)(t, node, epoch)
            self.zones.controller_resumed(t)
            return
        self.generation = generation
        self.deferred = []
        self.monitor_phase = t  # the new leader's first check is now
        if self.log is not None:
            self.log.note(t, "Normal", "NodeControllerStarted", "node-lifecycle-controller",
                          "a new controller-manager leader: grace periods and taint timers start again now")
        for node in range(self.m.n_nodes):
            self.node_epoch[node] += 1
            self.taint_epoch[node] += 1
            if self.kubelet_reports(node) or self.infra.absent[node]:
                continue
            if not self.not_ready[node]:  # its last probe is "now": a full grace period again
                self.timers.push(self.next_tick(t + self.k.node_monitor_grace_period), NOT_READY, node,
                                 self.node_epoch[node])
            elif self.zones.tainted[node] and not self.evicted[node]:
                self.timers.push(t + self.k.not_ready_toleration, EVICT, node, self.taint_epoch[node])
        self.zones.controller_back(t)
