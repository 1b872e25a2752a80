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
lifecycle, drains and rollouts act on pods only through the methods here.
"""

from __future__ import annotations

import zlib

import numpy as np

from ..scheduling.batch import schedule_pass
from ..scheduling.placement import pick, refresh_scores
from ..cluster_model import ClusterModel
from ..eventlog import EventLog
from ..infrastructure import Infrastructure
from ..controlplane.leases import Leases
from ..recording.recorder import Recorder
from ..scheduling.scheduler import placement_rng
from ..timers import POD_READY, Timers
from .fresh_start import FRESH_PLACEMENTS, fresh_start


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
        #: Per workload, ready replicas a running rollout takes away (RolloutWaves).
        self.rollout_short = [0] * len(model.cluster.workloads)
        self.budget_listener = None  # Drains.budget_changed while a drain waits: (t, workload) on ready changes
        self.planned_loss: set[int] = set()  # pods a drain evicted, until their replacement is ready
        self.wl_down = [False] * len(self.c.workloads)  # below minAvailable, as last reported
        self.pass_due = False
        self.failed_noted: set[int] = set()  # FailedScheduling already logged
        #: Pods starting, by their POD_READY timer's key: [(pod, version)], in start order.
        self.starting: dict[int, list[tuple[int, int]]] = {}
        self._open: tuple[float, int] = (-1.0, -1)  # (instant, key) of the group that may grow

    def report_initial_state(self) -> None:
        for w in range(len(self.c.workloads)):
            self.wl_down[w] = self.ready_count[w] < self.m.workload_required[w]
            self.rec.workload_state(0.0, w, self.wl_down[w])

    def hottest(self) -> float:
        """Utilisation of the hottest worker that is up (0 when none is)."""
        up = self.pl.util[self.infra.up_arr & self.m.worker_mask]
        return float(np.maximum.reduce(up)) if up.size else 0.0

    # -- what the node lifecycle reports -----------------------------------------------------
    def node_lost(self, t: float, node: int, initial: bool) -> None:
        """``node`` died: its pods stop (starting ones will not start)."""
        for p in self.node_pods[node]:
            self.version[p] += 1
            if self.ready[p]:
                self.set_ready(t, p, False)
                self.down_since[p] = np.nan if initial else t

    def node_ready(self, t: float, node: int, was_not_ready: bool) -> None:
        """``node`` reports again: schedulable (unless cordoned) and its pods (re)start."""
        m = self.m
        if self.autoscaler is not None and not self.node_pods[node]:
            self.autoscaler.maybe_empty(t, node)
        if was_not_ready:
            self.pl.usable[node] = self.schedulable[node] and node not in self.cordoned
            self.room_changed(node, usable=True)
        ready_at = t + self.c.kubernetes.pod_startup
        recreated = False
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
        pods stop counting as ready."""
        self.pl.usable[node] = False
        self.room_changed(node, usable=True)
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
                              f"Marking for deletion Pod default/{self.log.pod_name(p)}"
                              + (" (stays Terminating until its node returns: StatefulSet identity)"
                                 if m.is_stateful[p] else ""))
            if m.is_stateful[p]:
                if not self.terminating[p]:  # stuck Terminating: identity held until the node returns
                    self.terminating[p] = True
                    sch.count(self.pl, p, node, -1)
                    self.room_changed(workload=m.pod_workload[p])
                continue
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
        self.reschedule(t)

    def recreate(self, t: float, p: int, node: int) -> None:
        """A Terminating StatefulSet pod is gone at last: the same pod, Pending (its volume
        keeps it in its scope; without a volume it may land anywhere)."""
        self.terminating[p] = False
        self.m.scheduler.unbind(self.pl, p, counted=False)
        self.room_changed(node, self.m.pod_workload[p])
        self.node_pods[node].discard(p)
        if self.autoscaler is not None and not self.node_pods[node]:
            self.autoscaler.maybe_empty(t, node)
        self.version[p] += 1
        self.rec.pending_count(t, len(self.pending))
        self._pend(p, True)
        self.rec.load_changed()

    # -- for drains ----------------------------------------------------------------------------
    def cordon(self, node: int) -> None:
        self.pl.usable[node] = False
        self.room_changed(node, usable=True)
        self.cordoned.add(node)

    def uncordon(self, node: int) -> None:
        """``kubectl uncordon``: schedulable again once it reports Ready."""
        self.cordoned.discard(node)
        if not self.lifecycle.not_ready[node]:  # Ready as far as the scheduler knows (down but not yet NotReady too)
            self.pl.usable[node] = self.schedulable[node]
            self.room_changed(node, usable=True)
            self.request_pass()

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
        if self.log is not None:
            owner = "statefulset" if self.m.is_stateful[p] else "replicaset"
            new = self.log.renamed(p)
            self.log.note(t, "Normal", "SuccessfulCreate",
                          f"{owner}/{self.c.workloads[self.m.pod_workload[p]].name}", f"Created pod: {new}")
        self.rec.pending_count(t, len(self.pending))
        self._pend(p, True)

    def _pend(self, p: int, pending: bool) -> None:
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
                    node is not None and pl.usable[node] and (scope < 0 or sch.scope_mask(scope)[node])
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
        """A scheduling pass over the Pending pods, in pod order (needs both controllers)."""
        if not self.pending or not self.leases.controllers_ready:
            return
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
            if node_up[node]:
                self.start(t + self.c.kubernetes.pod_startup, p)
            else:
                self.version[p] += 1
        if placed:
            self.rec.pending_count(t, len(self.pending))
            self.pending.difference_update(placed)
            for p in placed:
                self.pending_of[m.pod_workload[p]] -= 1
                self.pending_moves[m.pod_workload[p]] += 1
            self.rec.load_changed()
        if self.pending and self.autoscaler is not None:  # unschedulable pods: cluster-autoscaler looks
            self.autoscaler.wake(t)

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
                         f"Successfully assigned default/{log.pod_name(p)} to {self.c.nodes[node].name}")
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

    def set_rollout_short(self, t: float, w: int, short: int) -> None:
        """A rollout wave leaves ``w`` ``short`` ready replicas below its placement (0: done)."""
        self.rollout_short[w] = short
        self._check(t, w)

    def _check(self, t: float, w: int) -> None:
        if self.budget_listener is not None:  # waiting drains (Drains.budget_changed)
            self.budget_listener(t, w)
        down = self.ready_count[w] - self.rollout_short[w] < self.m.workload_required[w]
        if down != self.wl_down[w]:  # the recorder hears of changes only
            self.wl_down[w] = down
            self.rec.workload_state(t, w, down)

    # -- rolling updates ---------------------------------------------------------------------------
    def redeploy(self, t: float, keep: frozenset[int] = frozenset()) -> None:
        """Every Deployment pod is placed afresh (rolling update on a healthy cluster), except
        those of the Deployments in ``keep`` (rollouts that cannot progress): the ready count
        during the rollout is RolloutWaves' business."""
        m, sch = self.m, self.m.scheduler
        self.rec.pending_count(t, len(self.pending))
        fresh = fresh_start(m)
        others = fresh.others(self.pl.pod_node)
        moving = m.deployment_pods if not keep else [p for p in m.deployment_pods if m.pod_workload[p] not in keep]
        if keep:  # the kept pods' places are part of what the fresh placement depends on
            others = (*others, *(self.pl.pod_node[p] for p in m.deployment_pods if m.pod_workload[p] in keep))
        # Placements are cached per position of the other pods and the usable machines the
        # autoscaler added (the healthy cluster's nodes are usable whenever a rollout runs).
        reuse = not self.cordoned and not keep
        added = tuple((n, bool(self.pl.usable[n])) for n in m.standby if self.pl.present[n]) \
            if self.autoscaler is not None else ()
        key = (others, added) if added else others
        cached = fresh.placed.get(key) if reuse else None
        if others == fresh.others_at_start and reuse and not added:
            # Everything else sits where it started: the fresh placement is the initial one.
            self.pl = m.baseline.copy()
            self.node_pods = [set(pods) for pods in fresh.node_pods]
            all_placed = fresh.deployments_all_placed
        elif cached is not None:  # the same position of the other pods seen before (healthy cluster)
            fresh.placed.move_to_end(key)
            pl, node_pods, all_placed = cached
            self.pl = pl.copy()
            self.node_pods = [set(pods) for pods in node_pods]
        else:
            taken = sch.unbind_many(self.pl, moving)
            if taken:
                self.room_changed()
            for p, node in taken:
                self.node_pods[node].discard(p)
            all_placed = True
            # A fresh placement depends only on where the other pods are (so it is cacheable):
            # its own tie-break stream, named by that position, and a scan from the first node.
            self.pl.next_start = 0
            rng = placement_rng(2, zlib.crc32(np.asarray(others, dtype=np.int64).tobytes()))
            for p, node in schedule_pass(sch, self.pl, moving, m.pod_pin, self.scope, rng):
                if node >= 0:
                    self.node_pods[node].add(p)
                else:
                    all_placed = False
            if reuse:
                refresh_scores(sch, self.pl)
                fresh.placed[key] = (self.pl.copy(), tuple(frozenset(s) for s in self.node_pods), all_placed)
                if len(fresh.placed) > FRESH_PLACEMENTS:
                    fresh.placed.popitem(last=False)
        if self.autoscaler is not None:  # the rollout may have left added machines empty
            for node in self.m.standby:
                if not self.node_pods[node]:
                    self.autoscaler.maybe_empty(t, node)
        for w in fresh.deployments:  # pods left cordoned nodes: drains waiting on them look again
            listener = self.budget_listener  # re-read: a drain that completes stops listening
            if listener is None:
                break
            listener(t, w)
        if all_placed and all(self.ready_count[w] == m.workload_desired[w] for w in fresh.deployments):
            self.rec.load_changed()  # every replica placed and running: nothing restarts
            return
        ready_at = t + self.c.kubernetes.pod_startup
        for p in moving:
            if self.pl.pod_node[p] < 0:
                self._pend(p, True)
                if self.ready[p]:
                    self.set_ready(t, p, False)
                    self.down_since[p] = t
                continue
            self._pend(p, False)
            if not self.ready[p]:
                self.start(ready_at, p)
        self.rec.load_changed()
