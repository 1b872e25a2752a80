"""The event engine: replays one failure history through Kubernetes' reactions.

Failure and repair times come from a sampler (``failures.py``) as sorted arrays;
everything Kubernetes does in response (elections, lease takeovers, NotReady,
eviction, replacement, scheduling, pod start) is a timer on one heap
(``timers.py``) whose push counter makes ties deterministic. :class:`HistoryRun`
is the thin loop: it takes whichever comes first, a failure transition or a
timer, and hands it to the component that owns it:

- :class:`~.infrastructure.Infrastructure`: failure transitions -> nodes up, links cut
- :class:`~.control_plane.Etcd` and :class:`~.control_plane.ApiServers`: quorum,
  elections, commit latency, API availability
- :class:`~.leases.Leases`: kube-controller-manager and kube-scheduler leases
- :class:`~.node_lifecycle.NodeLifecycle`: NotReady, taints, eviction, cut-off kubelets, with
  :class:`~.eviction.ZoneTainter` (zone states, rate-limited taint queues)
- :class:`~.workloads.Workloads`: pods, replacements, scheduling passes
- :class:`~.maintenance.Drains`, :class:`~.maintenance.Rollouts`, :class:`~.rollout_waves.RolloutWaves`,
  :class:`~.upgrades.RollingUpgrades`: planned disruption
- :class:`~.nodes.autoscaler.Autoscaler`: cluster-autoscaler on the autoscaled pools
- :class:`~.recorder.Recorder`: the statistics (:class:`HistoryResult`), with
  :class:`~.attribution.Attribution` naming the cause of each down quantity

The control plane reports changes through the four methods of
:class:`~.control_plane.ControlPlaneListener`, which the loop implements by calling
the component that reacts; the other components call each other directly, in one
direction (lifecycle, drains and rollouts -> workloads -> recorder). One random
stream per history serves elections, leases and rollouts, always in the same order.
A what-if scenario is the same loop with an :class:`~.eventlog.EventLog` attached.
The engine does no I/O.
"""

from __future__ import annotations

import heapq
from math import inf

import numpy as np

from .cluster_model import DEFAULT_UTILIZATION_LIMIT, ClusterModel
from .recording.attribution import Attribution
from .controlplane.etcd import ApiServers, Etcd
from .eventlog import EventLog
from .sampling.failures import History
from .infrastructure import Infrastructure
from .controlplane.leases import KCM, LEASE_JITTER, LEASE_NAMES, SCHEDULER, Leases
from .workloads.maintenance import DRAIN_RETRY_SECONDS, ROLLOUT_RETRY_SECONDS, Drains, Rollouts
from .nodes.lifecycle import NodeLifecycle
from .recording.cycles import CycleClock
from .recording.recorder import Episodes, HistoryResult, Recorder
from .nodes.autoscaler import Autoscaler
from .timers import (
    AUTOSCALE_SCAN, DRAIN_TRY, ELECTION_DONE, EVICT, LEASE_ACQUIRE, LEASE_LOST, N_KINDS, NODE_PROVISIONED, NOT_READY,
    OUT_OF_SERVICE, POD_READY, ROLLOUT, ROLLOUT_WAVE, SCALE_DOWN, TAINT, UPGRADE, Timers,
)
from .workloads.rollout_waves import RolloutWaves
from .workloads.upgrades import RollingUpgrades
from .workloads.controllers import Workloads

__all__ = [
    "ClusterModel", "HistoryRun", "HistoryResult", "Episodes", "simulate_history", "DEFAULT_UTILIZATION_LIMIT",
    "ELECTION_DONE", "LEASE_ACQUIRE", "LEASE_LOST", "NOT_READY", "EVICT", "POD_READY", "DRAIN_TRY", "ROLLOUT",
    "TAINT", "OUT_OF_SERVICE", "ROLLOUT_RETRY_SECONDS", "DRAIN_RETRY_SECONDS", "KCM", "SCHEDULER", "LEASE_NAMES", "LEASE_JITTER",
]


class HistoryRun:
    """One history: the components' state, wired together; ``run()`` plays it to the end."""

    def __init__(self, model: ClusterModel, history: History, rng: np.random.Generator,
                 events: list | None = None, rollouts: bool = True,
                 scheduler_rng: np.random.Generator | None = None):
        self.m = model
        self.c = model.cluster
        self.h = history
        self.rng = rng
        #: When a list, what happens is appended as (time, type, reason, object, message),
        #: like `kubectl get events` (what-if scenarios); None on the Monte Carlo path.
        self.events = events
        self.log = EventLog(model, events) if events is not None else None
        self._names: EventLog | None = None
        self.timers = timers = Timers()
        log = self.log
        self.infra = infra = Infrastructure(model)
        self.rec = rec = Recorder(model, pending=sum(1 for node in model.baseline.pod_node if node < 0),
                                  samples=events is not None, clock=CycleClock.of(history),
                                  importance=history.weighted)
        self.etcd = etcd = Etcd(model, infra, timers, rng, rec, log, self)
        self.api = api = ApiServers(model, infra, etcd, rec, log, self)
        self.leases = leases = Leases(model, infra, api, timers, rng, log, self)
        # kube-scheduler's tie breaks: a stream of their own, so they do not shift the others.
        sched_rng = scheduler_rng if scheduler_rng is not None else rng.spawn(1)[0]
        self.work = work = Workloads(model, infra, leases, timers, rec, log, sched_rng)
        self.nodes = nodes = NodeLifecycle(model, infra, etcd, leases, work, timers, rng, log)
        work.lifecycle = nodes
        self.drains = drains = Drains(model, work, timers, log, api_ok=lambda: api.api_ok)
        self.upgrades = upgrades = RollingUpgrades(model, timers, rng, log, infra=infra, drains=drains, etcd=etcd, leases=leases,
                                                   work=work, lifecycle=nodes, stop_node=self.stop_node)
        self.waves = waves = RolloutWaves(model, timers, work, upgrades.stats)
        self.rollouts = Rollouts(model, infra, leases, nodes, work, timers, rng, rollouts, waves)
        self.attribution = Attribution(model, etcd, api, leases, work, rec, upgrades)
        # cluster-autoscaler: only when a pool is autoscaled (its draw would shift the streams).
        self.autoscaler = None
        if self.c.autoscale:
            self.autoscaler = Autoscaler(model, infra, timers, rng, log, api_ok=lambda: api.api_ok)
            self.autoscaler.work, self.autoscaler.lifecycle = work, nodes
            work.autoscaler = self.autoscaler
        handlers = [None] * N_KINDS
        handlers[ELECTION_DONE] = etcd.on_election_done
        handlers[LEASE_ACQUIRE] = leases.on_acquire
        handlers[LEASE_LOST] = leases.on_lost
        handlers[NOT_READY] = nodes.on_not_ready
        handlers[EVICT] = nodes.on_evict
        handlers[POD_READY] = work.on_pod_ready
        handlers[DRAIN_TRY] = drains.on_drain_try
        handlers[ROLLOUT] = self.rollouts.on_rollout
        handlers[TAINT] = nodes.zones.on_taint
        handlers[OUT_OF_SERVICE] = nodes.on_out_of_service
        handlers[UPGRADE] = upgrades.on_step
        handlers[ROLLOUT_WAVE] = waves.on_wave
        if self.autoscaler is not None:
            handlers[AUTOSCALE_SCAN] = self.autoscaler.on_scan
            handlers[NODE_PROVISIONED] = self.autoscaler.on_provisioned
            handlers[SCALE_DOWN] = self.autoscaler.on_scale_down
        self.handlers = handlers
        #: When the first rolling upgrade starts (None: at a random phase of its period).
        self.upgrade_at: float | None = None

    # -- main loop ----------------------------------------------------------------------
    def run(self) -> HistoryResult:
        h, rec, work = self.h, self.rec, self.work
        for d in h.initially_down:
            self.apply_domain(0.0, int(d), True, initial=True)
        self.leases.choose_initial_holders()
        self.etcd.update(0.0, initial=True)
        self.rollouts.start()
        self.upgrades.start(self.upgrade_at)
        work.report_initial_state()
        self.refresh_load(0.0)
        times, domains, downs = h.times, h.domains, h.down
        i, n_events, horizon = 0, len(times), h.horizon
        heap = self.timers.heap
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
            t_next = min(heap[0][0] if heap else inf, times[i] if i < n_events else inf)
            if t_next > t:  # everything at t has happened: schedule, then measure the settled state
                work.flush(t)
                if rec.api.down or rec.down_workloads:
                    self.attribution.refresh(t)
                if rec.load_dirty:
                    self.refresh_load(t)
                rec.pending_settled(len(work.pending))
        result = rec.result(h, horizon, len(work.pending))
        result.eviction = self.nodes.zones.close(horizon)
        result.planned = self.upgrades.close(horizon)
        return result

    def dispatch(self, t: float, kind: int, a: int, b: int) -> None:
        """A timer is due: its owner handles it."""
        self.handlers[kind](t, a, b)

    def apply_domain(self, t: float, d: int, down: bool, initial: bool = False) -> None:
        """Failure instance ``d`` fails or is repaired: Infrastructure updates nodes and links,
        then each component that cares reacts, in a fixed order."""
        m = self.m
        self.attribution.domain(d, down)
        covered = m.cover_of_domain.get(d)
        if covered:
            for w in covered:
                self.rec.cover(t, w, 1 if down else -1)
        if self.log is not None and not initial:
            dom = self.c.domains[d]
            self.log.note(t, "Warning" if down else "Normal", "DomainDown" if down else "DomainUp", dom.id,
                          f"{dom.kind} {dom.name} " + ("failed" if down else "repaired"))
        changed = self.infra.apply(d, down)
        if changed is None:  # a region link: only the partitions change
            if not initial:
                self.etcd.update(t)
            return
        if not changed:
            if d in m.member_domains and not initial:
                self.etcd.update(t)  # a stopped member's failure: the failures-only quorum moved
            return
        self.rec.load_changed()  # the up workers changed
        nodes = self.nodes
        cp_touched = False
        workers_down = False
        for node in changed:
            if down:
                nodes.node_down(t, node, initial)
                workers_down |= m.worker_mask[node]
            else:
                nodes.node_returns(t, node)
            cp_touched |= node in m.cp_nodes
        if workers_down and not initial:
            self.rec.failure_episode(t)
        if cp_touched and not initial:
            self.etcd.update(t)
        if not down and self.leases.controllers_ready:
            self.work.request_pass()

    def refresh_load(self, t: float) -> None:
        hottest = self.work.hottest()
        self.rec.load(t, hottest)
        self.upgrades.load(hottest)

    def stop_node(self, t: float, node: int, stopped: bool) -> None:
        """A planned reboot: ``node`` stops (or starts again) like a failed node, but no failure
        instance is down (Infrastructure keeps the two apart)."""
        if not self.infra.stop(node, stopped):
            return
        self.rec.load_changed()
        if stopped:
            self.nodes.node_down(t, node, False)
        else:
            self.nodes.node_returns(t, node)
        if node in self.m.cp_nodes:
            self.etcd.update(t)
        if not stopped and self.leases.controllers_ready:
            self.work.request_pass()

    # -- ControlPlaneListener: the control plane's reports, routed ----------------------------
    def partition_changed(self, t: float) -> None:
        self.nodes.refresh_reachability(t)

    def etcd_changed(self, t: float) -> None:
        self.api.refresh(t)

    def api_changed(self, t: float) -> None:
        self.leases.refresh(t)
        self.drains.api_changed(t, self.api.api_ok)

    def leaders_changed(self, t: float, kcm_back: bool, controllers_back: bool) -> None:
        if kcm_back:
            self.nodes.controller_manager_back(t)
        if controllers_back:
            self.work.request_pass()

    # -- scenario hooks and read-only views for callers outside the engine ----------------------
    def start_drain(self, t: float, node: int) -> None:
        """Cordon ``node`` and evict its pods as `kubectl drain --ignore-daemonsets` does."""
        self.drains.start(t, node)

    def pod_name(self, p: int) -> str:
        if self.log is not None:
            return self.log.pod_name(p)
        if self._names is None:
            self._names = EventLog(self.m, [])
        return self._names.pod_name(p)

    node_up = property(lambda self: self.infra.node_up)
    up_arr = property(lambda self: self.infra.up_arr)
    alive = property(lambda self: self.infra.alive)
    live = property(lambda self: self.etcd.live)
    api_ok = property(lambda self: self.api.api_ok)
    unreachable = property(lambda self: self.nodes.unreachable)
    not_ready = property(lambda self: self.nodes.not_ready)
    pl = property(lambda self: self.work.pl)
    scope = property(lambda self: self.work.scope)
    node_pods = property(lambda self: self.work.node_pods)
    ready = property(lambda self: self.work.ready)
    ready_count = property(lambda self: self.work.ready_count)
    pending = property(lambda self: self.work.pending)
    terminating = property(lambda self: self.work.terminating)
    draining = property(lambda self: self.drains.draining)
    blocked_pods = property(lambda self: self.drains.blocked_pods)
    wl_eps = property(lambda self: self.rec.wl_eps)


def simulate_history(model: ClusterModel, history: History, seed: np.random.SeedSequence) -> HistoryResult:
    """Play one history with its own random stream (for elections, leases, rollouts)."""
    return HistoryRun(model, history, np.random.default_rng(seed)).run()
