"""Workload controllers: where every pod is, whether it is ready, and its replacement.

Deployments get a new, Pending pod for each one deleted; a StatefulSet pod on an
evicted node stays Terminating (it keeps its identity and volume) until the node
returns or is declared out of service, then is created afresh and scheduled (inside
its volume's scope); a DaemonSet pod belongs to its node and is never evicted. Scheduling passes
place the Pending pods with the stateless :class:`~.scheduler.Scheduler` while a
controller-manager and a scheduler lead. A pod turns Ready ``pod_startup`` after it
is bound to, or its node returns to, a node whose kubelet reports.

Each pod's ``version`` changes whenever a start in progress becomes moot, so a stale
start is dropped when its POD_READY timer comes. Pods started one after another, with no
other timer pushed in between, for the same instant (the pods one scheduling pass bound,
one node's pods) share one timer: they pop in the order separate timers would. The node
lifecycle, drains and rollouts act on pods only through the methods here (a rollout's fresh
placement: :mod:`.fresh_start`).
"""

from __future__ import annotations


import numpy as np

from ..scheduling.batch import schedule_pass
from ..scheduling.placement import pick
from ..cluster_model import ClusterModel
from ..eventlog import EventLog
from ..infrastructure import Infrastructure
from ..controlplane.leases import Leases
from ..recording.dependencies import Dependencies
from ..recording.recorder import Recorder
from ..timers import POD_READY, Timers
from ..nodes.endpoints import Endpoints
from .statefulset import OrderedReady
from .volumes import AttachDetach

#: A live bad release (:mod:`.releases`): caught by readiness (the rollout stalled), or by users.
STALLED, BROKEN = 1, 2


class Workloads:
    """Pods of every workload: placement, readiness, Terminating, the Pending queue."""

    def __init__(self, model: ClusterModel, infra: Infrastructure, leases: Leases, timers: Timers,
                 recorder: Recorder, log: EventLog | None, rng: np.random.Generator):
        m = model
        self.rng = rng  # the scheduler's tie breaks
        self.m, self.c = m, m.cluster
        self.infra, self.leases, self.timers, self.rec, self.log = infra, leases, timers, recorder, log
        #: The node lifecycle, asked whether a node's kubelet reports (set by the engine).
        self.lifecycle = None
        self.autoscaler = None  # cluster-autoscaler, woken when a pass leaves pods Pending (set by the engine)
        self.pl = m.baseline.copy()
        #: (workload, volume scope) keys that fit nowhere in ``hopeless_pl`` as it stands: the
        #: next passes skip them until room changes (:meth:`room_changed`), as binding takes room.
        self.hopeless: set[tuple[int, int]] = set()
        #: Workloads whose Pending pods a bind of their own pods can let in (a DoNotSchedule spread).
        self.spread_held = [wl.spread is not None and wl.spread.when_unsatisfiable == "DoNotSchedule"
                            for wl in self.c.workloads]
        self.hopeless_pl = self.pl
        self.scope = list(m.baseline_scope)  # StatefulSet pod -> its volume's scope domain
        self.node_pods: list[set] = [set() for _ in range(m.n_nodes)]
        for p, node in enumerate(self.pl.pod_node):
            if node >= 0:
                self.node_pods[node].add(p)
        self.ready = [node >= 0 for node in self.pl.pod_node]
        self.terminating = [False] * m.n_pods
        self.version = [0] * m.n_pods
        self.down_since = [np.nan] * m.n_pods  # NaN: down since before the history (not a recovery)
        self.pending = {p for p, node in enumerate(self.pl.pod_node) if node < 0}
        #: Pending pods per workload (the attribution names a workload's cause again only
        #: when something it depends on changed, this among them).
        self.pending_of = [0] * len(model.cluster.workloads)
        self.pending_moves = [0] * len(model.cluster.workloads)  # pods of each that joined or left Pending
        for p in self.pending:
            self.pending_of[model.pod_workload[p]] += 1
        self.ready_count = [sum(self.ready[p] for p in pods) for pods in m.workload_pods]
        self.cordoned: set[int] = set()
        #: Nodes the scheduler may use when Ready and not cordoned: workers not NotReady or tainted
        #: when imported, and the machines the autoscaler has added (it keeps this up to date).
        self.schedulable = m.scheduler.usable_at_start.tolist()
        #: Per workload, ready replicas a running rollout takes away (RolloutWaves, a stalled bad release).
        self.rollout_short = [0] * len(model.cluster.workloads)
        self.bad_release = [0] * len(model.cluster.workloads)  # a bad release is live: STALLED or BROKEN
        self.budget_listener = None  # Drains.budget_changed while a drain waits: (t, workload) on ready changes
        self.planned_loss: set[int] = set()  # pods a drain evicted, until their replacement is ready
        self.wl_down = [False] * len(self.c.workloads)  # below minAvailable, as last reported
        #: Workloads that need others (dependsOn, CoreDNS): their state as users see it is composed
        #: there; without any, the recorder hears the workloads' own states directly.
        self.deps = Dependencies(m, recorder.workload_state) if any(wl.depends_on for wl in self.c.workloads) \
            else None
        self.report_state = self.deps.own_state if self.deps is not None else recorder.workload_state
        self.pass_due = False
        self.failed_noted: set[int] = set()  # FailedScheduling already logged
        self.ordered = OrderedReady(self)  # StatefulSet pods created in ordinal order
        #: Volumes to attach and, for a shared ReadWriteOnce one, held by a Terminating pod.
        self.volumes = AttachDetach(self) if any(wl.volume is not None for wl in self.c.workloads) else None
        #: Endpoints still listed for pods on dead nodes (their requests fail).
        self.endpoints = Endpoints(m, self, timers, recorder)
        #: Pods starting, by their POD_READY timer's key: [(pod, version)], in start order.
        self.starting: dict[int, list[tuple[int, int]]] = {}
        self._open: tuple[float, int] = (-1.0, -1)  # (instant, key) of the group that may grow

    def report_initial_state(self) -> None:
        for w in range(len(self.c.workloads)):
            self.wl_down[w] = self.ready_count[w] < self.m.workload_required[w]
            self.report_state(0.0, w, self.wl_down[w])

    def hottest(self) -> float:
        """Utilisation of the hottest worker that is up (0 when none is)."""
        up = self.pl.util[self.infra.up_arr & self.m.worker_mask]
        return float(np.maximum.reduce(up)) if up.size else 0.0

    # -- what the node lifecycle reports -----------------------------------------------------
    def node_lost(self, t: float, node: int, initial: bool, graceful: bool = False) -> None:
        """``node`` died: its pods stop (starting ones will not start); those that were ready
        stay listed as endpoints until NotReady (a ``graceful`` stop takes them out itself)."""
        died = []
        for p in self.node_pods[node]:
            self.version[p] += 1
            if self.ready[p]:
                self.set_ready(t, p, False)
                self.down_since[p] = np.nan if initial else t
                died.append(p)
        if died and not initial and not graceful:
            self.endpoints.died(t, node, died)

    def node_ready(self, t: float, node: int, was_not_ready: bool) -> None:
        """``node`` reports again: schedulable (unless cordoned) and its pods (re)start."""
        if self.autoscaler is not None and not self.node_pods[node]:
            self.autoscaler.maybe_empty(t, node)
        if was_not_ready:
            self.set_schedulable(node, node not in self.cordoned)
        ready_at = t + self.c.kubernetes.pod_startup
        recreated = False
        self.endpoints.node_reports(t, node)  # its kubelet updates its pods' status itself
        if self.volumes is not None:  # its Terminating pods are gone at last: their volumes detach
            self.volumes.released(t, node)
        for p in sorted(self.node_pods[node]):
            if self.terminating[p]:  # its deletion completes; the StatefulSet creates it afresh
                self.recreate(t, p, node)
                recreated = True
                continue
            self.start(ready_at, p)
        if recreated:
            self.request_pass()

    def node_not_ready(self, t: float, node: int, up: bool) -> None:
        """``node`` is NotReady: no longer schedulable; if it is up (cut off, not dead) its
        pods stop counting as ready. The node lifecycle controller marks the pods the API still
        shows Ready NotReady (MarkPodsNotReady): they leave the endpoints."""
        self.endpoints.node_not_ready(t, node, sum(self.ready[p] for p in self.node_pods[node]) if up else 0)
        self.set_schedulable(node, False)
        if up:
            for p in self.node_pods[node]:
                self.version[p] += 1
                if self.ready[p]:
                    self.set_ready(t, p, False)
                    self.down_since[p] = t

    def evict_node(self, t: float, node: int) -> None:
        """Taint-based eviction: delete the node's pods (DaemonSet pods stay; StatefulSet pods
        stay Terminating), then schedule the replacements."""
        m, sch = self.m, self.m.scheduler
        for p in sorted(self.node_pods[node]):
            if m.is_daemon[p]:
                continue  # DaemonSet pods tolerate unreachable nodes forever
            if self.log is not None:
                self.log.note(t, "Normal", "TaintManagerEviction", f"pod/{self.log.pod_name(p)}",
                              f"Marking for deletion Pod {self.log.pod_ref(p)}"
                              + (" (stays Terminating until its node returns: StatefulSet identity)"
                                 if m.is_stateful[p] else ""))
            if m.is_stateful[p]:
                if not self.terminating[p]:  # stuck Terminating: identity held until the node returns
                    self.terminating[p] = True
                    sch.count(self.pl, p, node, -1)
                    self.room_changed(workload=m.pod_workload[p])
                continue
            if self.volumes is not None:  # its volume stays with it while it is Terminating
                self.volumes.deleted(p, node, self.log.pod_name(p) if self.log is not None else "")
            self.remove_pod(t, p, node)
        self.reschedule(t)

    def force_delete_node(self, t: float, node: int) -> None:
        """The out-of-service taint: every pod but DaemonSet ones is force-deleted at once;
        StatefulSet pods are recreated with their identity, in their volume's scope."""
        for p in sorted(self.node_pods[node]):
            if self.m.is_daemon[p]:
                continue
            if self.log is not None:
                self.log.note(t, "Normal", "PodGCForceDelete", f"pod/{self.log.pod_name(p)}",
                              "force-deleted: its node is out of service")
            if self.terminating[p]:
                self.recreate(t, p, node)
            else:
                self.remove_pod(t, p, node)
        if self.volumes is not None:  # the reconciler detaches at once from an out-of-service node
            self.volumes.released(t, node)
        self.reschedule(t)

    def recreate(self, t: float, p: int, node: int) -> None:
        """A Terminating StatefulSet pod is gone at last: the controller creates the same pod
        again, Pending (its volume keeps it in its scope; without a volume it may land
        anywhere), at once or, with OrderedReady, once every lower ordinal is Running and Ready."""
        self.terminating[p] = False
        self.m.scheduler.unbind(self.pl, p, counted=False)
        self.room_changed(node, self.m.pod_workload[p])
        self.node_pods[node].discard(p)
        if self.autoscaler is not None and not self.node_pods[node]:
            self.autoscaler.maybe_empty(t, node)
        self.version[p] += 1
        self.rec.load_changed()
        if self.ordered.deleted(t, p):
            self.created(t, p)

    def created(self, t: float, p: int) -> None:
        """The StatefulSet controller created ``p`` (again): Pending."""
        if self.log is not None:
            name = self.c.workloads[self.m.pod_workload[p]].name
            self.log.note(t, "Normal", "SuccessfulCreate", f"statefulset/{name}",
                          f"create Pod {self.log.pod_name(p)} in StatefulSet {name} successful")
        self.rec.pending_count(t, len(self.pending))
        self.set_pending(p, True)
        self.request_pass()

    # -- for drains ----------------------------------------------------------------------------
    def cordon(self, node: int) -> None:
        self.set_schedulable(node, False)
        self.cordoned.add(node)

    def uncordon(self, node: int) -> None:
        """``kubectl uncordon``: schedulable again once it reports Ready."""
        self.cordoned.discard(node)
        if not self.lifecycle.not_ready[node]:  # Ready as far as the scheduler knows (down but not yet NotReady too)
            self.set_schedulable(node, True)
            self.request_pass()

    def set_schedulable(self, node: int, on: bool) -> None:
        """``node`` loses (or regains) its NotReady or cordon taint: a worker for every pod, a
        control-plane node for the pods that tolerate its own taint."""
        self.pl.usable[node] = on and self.schedulable[node]
        self.pl.cp_usable[node] = on and self.m.scheduler.is_cp_kube[node]
        self.room_changed(node, usable=True)

    def pods_on(self, node: int) -> list[int]:
        return sorted(self.node_pods[node])

    def budget_blocks(self, p: int) -> bool:
        """The eviction API refuses ``p`` (PodDisruptionBudget): a ready pod while evicting it would
        take its workload below minAvailable; an unready one while the budget is already
        unhealthy (``unhealthyPodEvictionPolicy: IfHealthyBudget``, the default)."""
        w = self.m.pod_workload[p]
        healthy = self.ready_count[w] - self.rollout_short[w]
        return (healthy - 1 if self.ready[p] else healthy) < self.m.workload_required[w]

    # -- pods ------------------------------------------------------------------------------------
    def remove_pod(self, t: float, p: int, node: int, planned: bool = False) -> None:
        """The pod is deleted from ``node``; its controller creates a replacement, Pending.
        ``planned``: evicted by a drain (the attribution counts its absence as planned)."""
        if planned:
            self.planned_loss.add(p)
        self.m.scheduler.unbind(self.pl, p)
        self.room_changed(node, self.m.pod_workload[p])
        self.node_pods[node].discard(p)
        if self.autoscaler is not None and not self.node_pods[node]:
            self.autoscaler.maybe_empty(t, node)
        self.version[p] += 1
        if self.ready[p]:
            self.set_ready(t, p, False)
            self.down_since[p] = t
        if p in self.endpoints.stale:  # a deleted pod leaves its endpoints
            self.endpoints.unlist(t, (p,))
        if self.log is not None:
            owner = "statefulset" if self.m.is_stateful[p] else "replicaset"
            new = self.log.renamed(p)
            self.log.note(t, "Normal", "SuccessfulCreate",
                          f"{owner}/{self.c.workloads[self.m.pod_workload[p]].name}", f"Created pod: {new}")
        self.rec.pending_count(t, len(self.pending))
        self.set_pending(p, True)

    def set_pending(self, p: int, pending: bool) -> None:
        """``p`` joins (or leaves) the Pending pods."""
        if (p in self.pending) != pending:
            w = self.m.pod_workload[p]
            self.pending_of[w] += 1 if pending else -1
            self.pending_moves[w] += 1
            if pending:
                self.pending.add(p)
            else:
                self.pending.discard(p)

    def reschedule(self, t: float) -> None:
        """Pods were deleted: load moved; place the replacements."""
        self.rec.load_changed()
        self.request_pass()

    def room_changed(self, node: int | None = None, workload: int | None = None, usable: bool = False) -> None:
        """A pod of ``workload`` left ``node``, or ``node``'s schedulability changed (``usable``);
        no argument: anything may have changed. Binding only ever takes room, so only this can
        make a hopeless key fit again: through the node itself (it is usable, in the key's
        volume scope, with room for one more pod), through the key's own spread counts (one of
        its pods left), or, for a DoNotSchedule spread honouring taints, any taint change."""
        if not self.hopeless:
            return
        if node is None and workload is None:
            self.hopeless.clear()
            return
        sch, pl = self.m.scheduler, self.pl
        for key in list(self.hopeless):
            w, scope = key
            spread = sch.workloads[w].spread
            if w == workload or (workload is not None and workload in sch.affinity.related[w]) or (
                    usable and spread is not None and spread.node_taints_policy == "Honor") or (
                    node is not None and sch.schedulable(pl, w)[node] and (scope < 0 or sch.scope_mask(scope)[node])
                    and sch.fits_on(pl, w, node)):
                self.hopeless.discard(key)

    def request_pass(self) -> None:
        """Something changed that may let Pending pods fit. The scheduler makes one pass once
        everything that happens at this instant has happened (its queue sees all the pods
        the controllers created at once, as kube-scheduler does), see :meth:`flush`."""
        self.pass_due = True

    def flush(self, t: float) -> None:
        """The instant is over: make the scheduling pass it asked for."""
        if self.pass_due:
            self.pass_due = False
            self.schedule_pending(t)

    def schedule_pending(self, t: float) -> None:
        """Scheduling passes over the Pending pods, in pod order (needs both controllers): one,
        and another at once while a pass bound pods that the spread or pod affinity of pods
        still Pending counts (kube-scheduler moves those back to its active queue on that
        Pod/Add event: PodTopologySpread and InterPodAffinity register it), not at the next
        failure or repair."""
        if not self.pending or not self.leases.controllers_ready:
            return
        while self._schedule_pass(t):
            pass
        if self.pending and self.autoscaler is not None:  # unschedulable pods: cluster-autoscaler looks
            self.autoscaler.wake(t)

    def _schedule_pass(self, t: float) -> bool:
        """One pass; True when it bound a pod that a Pending pod's spread or affinity counts."""
        if not self.pending:
            return False
        m, sch, log = self.m, self.m.scheduler, self.log
        node_up = self.infra.node_up
        placed = []
        if log is None:  # the simulation: batches of identical pods (same nodes as one by one)
            if self.hopeless_pl is not self.pl:  # a placement put in place wholesale (rollout)
                self.hopeless.clear()
                self.hopeless_pl = self.pl
            decisions = schedule_pass(sch, self.pl, sorted(self.pending), m.pod_pin, self.scope, self.rng,
                                      hopeless=self.hopeless)
        else:  # whatif: one by one, so each FailedScheduling explains the state it met
            decisions = self._one_by_one(t)
        for p, node in decisions:
            if node < 0:
                continue
            if self.scope[p] < 0 and m.scope_level[p] is not None:
                self.scope[p] = m.scope_of(p, node)
            self.node_pods[node].add(p)
            placed.append(p)
            delay = 0.0 if self.volumes is None else self.volumes.start_delay(p, node)
            if node_up[node] and delay is not None:
                self.start(t + delay + self.c.kubernetes.pod_startup, p)
            else:
                self.version[p] += 1
                if delay is None:  # its volume is still attached to the old pod's node (Multi-Attach)
                    self.volumes.wait(t, p, node)
        if placed:
            self.rec.pending_count(t, len(self.pending))
            self.pending.difference_update(placed)
            for p in placed:
                self.pending_of[m.pod_workload[p]] -= 1
                self.pending_moves[m.pod_workload[p]] += 1
            self.rec.load_changed()
            bound = {m.pod_workload[p] for p in placed}
            related = sch.affinity.related
            return any((w in bound and self.spread_held[w]) or related[w] & bound
                       for w in {m.pod_workload[p] for p in self.pending})
        return False

    def _one_by_one(self, t: float) -> list[tuple[int, int]]:
        """Pod-by-pod scheduling with kube-scheduler's events (what-if scenarios)."""
        m, sch, log = self.m, self.m.scheduler, self.log
        out = []
        for p in sorted(self.pending):
            pin = m.pod_pin[p]
            node = pick(sch, self.pl, p, self.rng, only=pin if pin >= 0 else None, scope=self.scope[p])
            if node < 0:
                if p not in self.failed_noted:
                    self.failed_noted.add(p)
                    log.note(t, "Warning", "FailedScheduling", f"pod/{log.pod_name(p)}",
                             sch.explain(self.pl, p, scope=self.scope[p]))
            else:
                sch.bind(self.pl, p, node)
                self.failed_noted.discard(p)
                log.note(t, "Normal", "Scheduled", f"pod/{log.pod_name(p)}",
                         f"Successfully assigned {log.pod_ref(p)} to {self.c.nodes[node].name}")
            out.append((p, node))
        return out

    def start(self, ready_at: float, p: int) -> None:
        """``p``'s containers start: it turns ready at ``ready_at`` unless its start becomes moot
        first (its version moves on). It joins the last group if that is due at the same instant
        and no timer was pushed since (its timer's key is its push count); else a new group."""
        self.version[p] += 1
        at, key = self._open
        if at != ready_at or key != self.timers.seq or key not in self.starting:
            key = self.timers.seq + 1  # the count this push gets
            self.timers.push(ready_at, POD_READY, key)
            self.starting[key] = []
            self._open = (ready_at, key)
        self.starting[key].append((p, self.version[p]))

    def on_pod_ready(self, t: float, key: int, _b: int = 0) -> None:
        """A POD_READY timer: its group of pods is due."""
        for p, version in self.starting.pop(key):
            self.pod_ready(t, p, version)

    def pod_ready(self, t: float, p: int, version: int) -> None:
        if version != self.version[p] or self.ready[p]:
            return
        node = self.pl.pod_node[p]
        if node < 0 or not self.lifecycle.kubelet_reports(node):
            return
        self.set_ready(t, p, True)
        if self.log is not None:
            self.log.note(t, "Normal", "Started", f"pod/{self.log.pod_name(p)}",
                          f"Started container on {self.c.nodes[node].name}")
        since = self.down_since[p]
        if since == since:  # not NaN
            self.rec.recovery(t, self.m.pod_workload[p], t - since)
        self.down_since[p] = np.nan

    def set_ready(self, t: float, p: int, ready: bool) -> None:
        self.ready[p] = ready
        if ready and self.planned_loss:
            self.planned_loss.discard(p)
        w = self.m.pod_workload[p]
        self.ready_count[w] += 1 if ready else -1
        self._check(t, w)
        stale = self.endpoints.stale_of[w]
        if stale:  # the dead endpoints' share of requests moved
            self.rec.endpoints(t, w, stale, self.ready_count[w])
        if ready and self.ordered.waiting[w]:
            self.ordered.pod_ready(t, w)

    def set_bad_release(self, t: float, w: int, state: int) -> None:
        """A bad release of ``w`` is live (``STALLED``: caught by readiness, its rollout stalled;
        ``BROKEN``: users see errors, ``w`` is down whatever its pods do) or rolled back (0)."""
        self.bad_release[w] = state
        self._check(t, w)

    def set_rollout_short(self, t: float, w: int, short: int) -> None:
        """A rollout wave leaves ``w`` ``short`` ready replicas below its placement (0: done)."""
        self.rollout_short[w] = short
        self._check(t, w)

    def _check(self, t: float, w: int) -> None:
        if self.budget_listener is not None:  # waiting drains (Drains.budget_changed)
            self.budget_listener(t, w)
        down = self.ready_count[w] - self.rollout_short[w] < self.m.workload_required[w] or self.bad_release[w] == BROKEN
        if down != self.wl_down[w]:  # the recorder hears of changes only
            self.wl_down[w] = down
            self.report_state(t, w, down)
