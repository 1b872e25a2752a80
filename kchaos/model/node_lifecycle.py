"""Node lifecycle: Ready, NotReady after the grace period, eviction after the toleration.

A node that dies, or whose kubelet is cut off from the partition holding quorum by
a region link, stops posting status. After ``node_monitor_grace_period`` the node
lifecycle controller (in kube-controller-manager) marks it NotReady; after
``not_ready_toleration`` its pods are evicted. Both steps need a controller-manager
leader: while none leads they wait, and run when one takes over. A node that
returns, or reconnects, is Ready again and its pods start.

Each node's ``node_epoch`` changes whenever its clocks restart, so a NOT_READY or
EVICT timer from before is dropped. What happens to pods is the workload
controllers' business: this component tells :class:`~.workloads.Workloads`.
"""

from __future__ import annotations

from .cluster_model import ClusterModel
from .control_plane import Etcd
from .eventlog import EventLog
from .infrastructure import Infrastructure
from .leases import Leases
from .timers import EVICT, NOT_READY, Timers
from .workloads import Workloads


class NodeLifecycle:
    """Per-node Ready / NotReady / evicted / cut-off state and its timers."""

    def __init__(self, model: ClusterModel, infra: Infrastructure, etcd: Etcd, leases: Leases,
                 work: Workloads, timers: Timers, log: EventLog | None):
        self.m, self.c = model, model.cluster
        self.infra, self.etcd, self.leases, self.work, self.timers, self.log = infra, etcd, leases, work, timers, log
        n = model.n_nodes
        self.node_epoch = [0] * n
        self.not_ready = [False] * n
        self.evicted = [False] * n
        #: Up, but cut off from the quorum's partition by a region link: its kubelet cannot
        #: post status, so it goes NotReady and its pods are evicted like a dead node's.
        self.unreachable = [False] * n
        self.n_unreachable = 0
        self.deferred: list[tuple[int, int, int]] = []  # (NOT_READY | EVICT, node, epoch) awaiting a leader

    def kubelet_reports(self, node: int) -> bool:
        """The node is up and its kubelet reaches the API (its pods can turn Ready)."""
        return self.infra.node_up[node] and not self.unreachable[node]

    def all_workers_ready(self) -> bool:
        return not self.n_unreachable and not any(self.not_ready[n] for n in self.m.workers)

    # -- nodes going and coming -----------------------------------------------------------
    def node_down(self, t: float, node: int, initial: bool) -> None:
        """``node`` died (Infrastructure already marked it down): its pods stop; NotReady follows."""
        self.node_epoch[node] += 1
        if self.unreachable[node]:
            self.unreachable[node] = False
            self.n_unreachable -= 1
        self.work.node_lost(t, node, initial)
        if not self.not_ready[node]:
            self.timers.push(t + self.c.kubernetes.node_monitor_grace_period, NOT_READY, node, self.node_epoch[node])

    def node_returns(self, t: float, node: int) -> None:
        """``node`` is back up: Ready again, unless a region link keeps it cut off."""
        self.node_epoch[node] += 1
        if self.m.worker_mask[node] and not self.reaches_quorum(node):
            self.cut_off(t, node)
        else:
            self.node_visible(t, node)

    def node_visible(self, t: float, node: int) -> None:
        """The node is up and its kubelet reaches the API again: Ready, pods (re)start."""
        was_not_ready = self.not_ready[node]
        self.not_ready[node] = False
        self.evicted[node] = False
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
        self.node_epoch[node] += 1
        self.not_ready[node] = False  # the grace period starts again from the cut
        self.timers.push(t + self.c.kubernetes.node_monitor_grace_period, NOT_READY, node, self.node_epoch[node])

    def refresh_reachability(self, t: float) -> None:
        """After the partition changed: cut off workers that lost the quorum's partition,
        reconnect those that regained it. Frozen while no partition holds quorum."""
        if not self.etcd.quorum_held() or (not self.infra.cut and not self.n_unreachable):
            return
        reconnected = False
        node_up = self.infra.node_up
        for node in self.m.workers:
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
        """The grace period passed without a status update: NotReady, eviction timer starts."""
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
        self.timers.push(t + self.c.kubernetes.not_ready_toleration, EVICT, node, epoch)
        # With nodeTaintsPolicy: Honor a NotReady node leaves the spread domains.
        self.work.request_pass()

    def on_evict(self, t: float, node: int, epoch: int) -> None:
        """The NotReady toleration ran out: the node's pods are evicted."""
        if epoch != self.node_epoch[node]:
            return
        if not self.leases.kcm_ready:
            self.deferred.append((EVICT, node, epoch))
            return
        self.evicted[node] = True
        self.work.evict_node(t, node)

    def controller_manager_back(self, t: float) -> None:
        """A controller-manager leads again: what waited for it happens now, in order."""
        if self.deferred:
            deferred, self.deferred = self.deferred, []
            for kind, node, epoch in deferred:
                if kind == NOT_READY:
                    self.on_not_ready(t, node, epoch)
                else:
                    self.on_evict(t, node, epoch)
