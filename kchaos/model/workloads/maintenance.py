"""Planned disruption: ``kubectl drain`` and periodic rolling updates.

A :class:`Drains` process cordons a node and evicts its pods through the
disruption budget (minAvailable), retrying what the budget refuses every 5 s until
the node is empty. :class:`Rollouts` rolls every Deployment now and then, which
re-places its pods and so undoes the load concentrated by earlier failures; it runs
only on a healthy cluster. Both act on pods through :class:`~.workloads.Workloads`.
"""

from __future__ import annotations

import math
import operator
from collections.abc import Callable

import numpy as np

from ..cluster_model import ClusterModel
from ..eventlog import EventLog
from ..infrastructure import Infrastructure
from ..controlplane.leases import Leases
from ..nodes.lifecycle import NodeLifecycle
from ..timers import DRAIN_TRY, ROLLOUT, Timers
from .controllers import Workloads
from .fresh_start import redeploy

#: A rollout that finds the cluster degraded waits this long and tries again.
ROLLOUT_RETRY_SECONDS = 3600.0
#: kubectl drain retries a refused eviction every 5 s.
DRAIN_RETRY_SECONDS = 5.0


class Drains:
    """``kubectl drain --ignore-daemonsets`` of some nodes: progress and what blocks it."""

    def __init__(self, model: ClusterModel, work: Workloads, timers: Timers, log: EventLog | None,
                 api_ok: Callable[[], bool] = lambda: True):
        self.m, self.c = model, model.cluster
        self.work, self.timers, self.log = work, timers, log
        self.api_ok = api_ok  # evictions go through the API: none while it is down
        self.draining: dict[int, bool] = {}  # node -> drain finished
        self.blocked_pods: dict[int, list[int]] = {}  # drained node -> pods its budget holds
        self.drain_noted: set[int] = set()
        self.blocked_since: dict[int, float] = {}  # node -> when a budget first held its drain up
        self.blocked_seconds: dict[int, float] = {}  # node -> how long its finished drain was held up
        self.blocked_workloads: dict[int, list[str]] = {}  # node -> the workloads whose budgets held it
        #: Drains waiting between their 5 s retries: node -> (when its retries started, the
        #: workloads whose budgets block it; empty: waiting for the API). A retry can only
        #: succeed once one of those changes, so the engine wakes the drain then, at its next
        #: 5 s tick, instead of playing every retry of a drain blocked for days.
        self.waiting: dict[int, tuple[float, frozenset[int]]] = {}
        self.on_drained: Callable[[float, int], None] | None = None

    def start(self, t: float, node: int) -> None:
        """Cordon ``node`` and evict its pods as `kubectl drain --ignore-daemonsets` does."""
        self.work.cordon(node)
        self.draining[node] = False
        if self.log is not None:
            name = self.c.nodes[node].name
            self.log.note(t, "Normal", "NodeNotSchedulable", f"node/{name}",
                          f"Node {name} status is now: NodeNotSchedulable")
        self.timers.push(t, DRAIN_TRY, node)

    def on_drain_try(self, t: float, node: int, _: int = 0) -> None:
        """Evict what the disruption budget (minAvailable) allows; retry the rest in 5 s."""
        m, work, log = self.m, self.work, self.log
        if self.draining.get(node) is not False:
            return  # finished, or no longer draining (a stale retry)
        if not self.api_ok():  # the eviction API does not answer: kubectl drain retries
            self.waiting[node] = (t, frozenset())
            work.budget_listener = self.budget_changed
            return
        blocked = []
        for p in work.pods_on(node):
            if m.is_daemon[p] or work.terminating[p]:  # DaemonSets stay; a Terminating pod is already leaving
                continue
            if m.is_stateful[p] and not work.lifecycle.kubelet_reports(node):
                blocked.append(p)  # its kubelet cannot confirm the deletion: Terminating until it reports
                continue
            if work.budget_blocks(p):
                blocked.append(p)
                continue
            if log is not None:
                log.note(t, "Normal", "Evicted", f"pod/{log.pod_name(p)}",
                         f"Evicting pod {log.pod_ref(p)} (drain of {self.c.nodes[node].name})")
            work.remove_pod(t, p, node, planned=True)
        work.reschedule(t)
        if blocked:
            if log is not None and node not in self.drain_noted:
                self.drain_noted.add(node)
                for p in blocked:
                    log.note(t, "Warning", "EvictionBlocked", f"pod/{log.pod_name(p)}",
                             "Cannot evict pod as it would violate the pod's disruption budget "
                             f"(minAvailable {m.workload_required[m.pod_workload[p]]})")
            self.blocked_pods[node] = blocked
            self.blocked_since.setdefault(node, t)
            self.blocked_workloads[node] = sorted({self.c.workloads[m.pod_workload[p]].name for p in blocked})
            self.waiting[node] = (t, frozenset(m.pod_workload[p] for p in blocked))
            work.budget_listener = self.budget_changed  # heard only while some drain waits
        else:
            self.blocked_pods[node] = []
            self.draining[node] = True
            since = self.blocked_since.pop(node, None)
            if since is not None:
                self.blocked_seconds[node] = t - since
            if log is not None:
                log.note(t, "Normal", "Drained", f"node/{self.c.nodes[node].name}", "node drained")
            if self.on_drained is not None:
                self.on_drained(t, node)

    def budget_changed(self, t: float, w: int) -> None:
        """``w``'s ready count changed: drains its budget blocks retry at their next tick."""
        if self.waiting:
            for node, (since, blocking) in list(self.waiting.items()):
                if w in blocking:
                    self.retry(t, node, since)

    def api_changed(self, t: float, api_ok: bool) -> None:
        """The API answers again: drains waiting for it retry at their next tick."""
        if api_ok and self.waiting:
            for node, (since, blocking) in list(self.waiting.items()):
                if not blocking:
                    self.retry(t, node, since)

    def retry(self, t: float, node: int, since: float) -> None:
        del self.waiting[node]
        if not self.waiting:
            self.work.budget_listener = None
        ticks = max(1, math.ceil((t - since) / DRAIN_RETRY_SECONDS - 1e-9))
        self.timers.push(since + ticks * DRAIN_RETRY_SECONDS, DRAIN_TRY, node)


class Rollouts:
    """Releases: a rolling update of every Deployment each ``rollout_interval``, and of a workload
    with its own ``rollouts.every`` on its own schedule, if the cluster is healthy; each release
    of a workload with ``rollouts.bad`` may be bad (:class:`~.releases.BadReleases`)."""

    def __init__(self, model: ClusterModel, infra: Infrastructure, leases: Leases, lifecycle: NodeLifecycle,
                 work: Workloads, timers: Timers, rng: np.random.Generator, enabled: bool, waves=None,
                 releases=None):
        self.m, self.c = model, model.cluster
        self.waves = waves  # RolloutWaves: the ready replicas during each Deployment's rollout
        self.releases = releases  # BadReleases
        self.infra, self.leases, self.lifecycle, self.work = infra, leases, lifecycle, work
        self.timers, self.rng = timers, rng
        wls = self.c.workloads
        #: Workloads released on a schedule of their own (ROLLOUT timers with a = workload + 1).
        self.own = [w for w, wl in enumerate(wls) if wl.releases is not None and wl.releases.every is not None]
        deployments = [w for w, wl in enumerate(wls) if wl.kind == "Deployment"]
        self.own_deployments = frozenset(w for w in self.own if w in deployments)
        #: What the cluster-wide rollout releases: the other Deployments, and the StatefulSets whose
        #: releases can be bad (their pods are not re-placed).
        self.rolled = [w for w, wl in enumerate(wls) if w not in self.own
                       and (wl.kind == "Deployment" or (wl.releases is not None and wl.releases.bad is not None))]
        self.enabled = enabled
        self.interval = model.cluster.kubernetes.rollout_interval
        nodes = model.rollout_nodes
        self._rollout_nodes = operator.itemgetter(*nodes) if len(nodes) > 1 else \
            (lambda flags: tuple(flags[n] for n in nodes))

    def start(self) -> None:
        """The first rollout comes at a uniform phase of its interval."""
        if not self.enabled:
            return
        if self.interval is not None and self.rolled:
            self.timers.push(float(self.rng.random()) * self.interval, ROLLOUT)
        for w in self.own:
            self.timers.push(float(self.rng.random()) * self.c.workloads[w].releases.every, ROLLOUT, w + 1)

    def healthy(self) -> bool:
        """The controllers lead, and every node a rollout may place pods on is up and Ready."""
        life = self.lifecycle
        if not self.leases.controllers_ready or not self.infra.up_arr[self.m.rollout_mask].all():
            return False
        return not any(self._rollout_nodes(life.not_ready)) and \
            not (life.n_unreachable and any(self._rollout_nodes(life.unreachable)))

    def on_rollout(self, t: float, a: int = 0, _b: int = 0) -> None:
        """Roll every Deployment (``a`` = 0) or workload ``a - 1`` now, or an hour later if the
        cluster is degraded."""
        if not self.healthy():
            self.timers.push(t + ROLLOUT_RETRY_SECONDS, ROLLOUT, a)
            return
        if a == 0:
            self.timers.push(t + self.interval, ROLLOUT)
            rolled, kept = self.rolled, self.own_deployments
            moving = None if not kept else [w for w in self.rolled if self.c.workloads[w].kind == "Deployment"]
        else:
            w = a - 1
            self.timers.push(t + self.c.workloads[w].releases.every, ROLLOUT, a)
            rolled = [w]
            moving = [w] if w in self.own_deployments else []
            kept = frozenset(d for d in range(len(self.c.workloads)) if d != w)
        if moving is None or moving:  # every Deployment (None), or those listed
            stuck = self.waves.start(t, moving) if self.waves is not None else frozenset()  # before the pods move
            redeploy(self.work, t, keep=stuck | kept)  # a rollout that cannot progress leaves its pods where they are
        if self.releases is not None:
            for w in rolled:
                self.releases.released(t, w)
