"""Rolling upgrades (topology ``maintenance:``), interleaved with the failures.

Once per period, the control-plane nodes one at a time (the etcd leader's last), then the
workers batch by batch: cordon, drain as ``kubectl drain --ignore-daemonsets`` does (through
the disruption budgets, retried every 5 s, for as long as it takes), reboot for ``perNode``,
uncordon. A control-plane node stops gracefully: its etcd member hands leadership over
first (:meth:`~.control_plane.Etcd.hand_over`), kube-scheduler releases its lease
(``ReleaseOnCancel: true``, ``cmd/kube-scheduler/app/options/options.go``), while
kube-controller-manager does not release its (``cmd/kube-controller-manager/app/
controllermanager.go`` sets no ReleaseOnCancel), so a standby takes it when it expires.

The upgrade is a process written as a plain generator (SimPy's style, on the engine's own
timer heap): it yields the seconds to wait and is resumed by an UPGRADE timer. Random
failures go on meanwhile; a failure may strike while a batch is out, which is the point.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field

import numpy as np

from ..cluster_model import ClusterModel
from ..eventlog import EventLog
from ..timers import UPGRADE, Timers

#: An upgrade that finds the cluster unhealthy (a control-plane node or a node of the next
#: batch down or NotReady, no controller-manager) looks again this often.
HEALTH_POLL_SECONDS = 60.0
#: Yielded by the process to wait until :meth:`RollingUpgrades.wake` (a drain finished).
PARK = -1.0


@dataclass
class PlannedStats:
    """What the planned disruptions of one history did (summed over histories by the analysis)."""

    upgrades: int = 0  # rolling upgrades completed
    drains: int = 0  # node drains completed
    blocked_drains: int = 0  # drains that a disruption budget held up at least once
    blocked_max_seconds: float = 0.0  # the longest a drain waited for a budget (to its end, or the horizon)
    blocked_by: dict[str, int] = field(default_factory=dict)  # workload -> drains its budget held up
    transfers: int = 0  # etcd leader transfers on a graceful stop
    window_seconds: float = 0.0  # time with an upgrade batch out
    hottest_in_window: float | None = None  # the hottest up worker while a batch was out
    rollouts: int = 0  # Deployment rollouts (RollingUpdate) that ran
    rollouts_stuck: int = 0  # rollouts that could not progress (no room for surge, maxUnavailable 0)

    def merge(self, other: "PlannedStats") -> "PlannedStats":
        by = dict(self.blocked_by)
        for name, n in other.blocked_by.items():
            by[name] = by.get(name, 0) + n
        hot = [x for x in (self.hottest_in_window, other.hottest_in_window) if x is not None]
        return PlannedStats(
            self.upgrades + other.upgrades, self.drains + other.drains, self.blocked_drains + other.blocked_drains,
            max(self.blocked_max_seconds, other.blocked_max_seconds), by, self.transfers + other.transfers,
            self.window_seconds + other.window_seconds, max(hot) if hot else None,
            self.rollouts + other.rollouts, self.rollouts_stuck + other.rollouts_stuck)


class RollingUpgrades:
    """The upgrade process and what it needs from the cluster (passed in as calls, so this
    component owns no other component's state)."""

    def __init__(self, model: ClusterModel, timers: Timers, rng: np.random.Generator, log: EventLog | None,
                 *, infra, drains, etcd, leases, work, lifecycle, stop_node: Callable[[float, int, bool], None]):
        self.m, self.c = model, model.cluster
        self.plan = model.cluster.maintenance
        self.timers, self.rng, self.log = timers, rng, log
        self.infra = infra
        self.drains, self.etcd, self.leases, self.work, self.lifecycle = drains, etcd, leases, work, lifecycle
        self.stop_node = stop_node
        self.stats = PlannedStats()
        self.now = 0.0
        self.out: set[int] = set()  # nodes of the batch being upgraded (cordoned, drained or rebooting)
        self.out_version = 0  # bumped whenever ``out`` changes (the attribution's cache key)
        self.window_since: float | None = None
        self.process: Iterator[float] | None = None
        self.parked = False
        drains.on_drained = self.wake

    @property
    def active(self) -> bool:
        """A batch is out: planned disruption in progress."""
        return bool(self.out)

    def start(self, at: float | None = None) -> None:
        """The first upgrade starts at ``at``, by default at a uniform phase of the period."""
        if self.plan is not None:
            self.process = self.upgrades()
            self.timers.push(float(self.rng.random()) * self.plan.every if at is None else at, UPGRADE)

    def on_step(self, t: float, _a: int = 0, _b: int = 0) -> None:
        """Resume the process until it asks to wait (a delay, or PARK until woken)."""
        self.now = t
        assert self.process is not None
        delay = next(self.process)
        self.parked = delay == PARK
        if not self.parked:
            self.timers.push(t + delay, UPGRADE)

    def wake(self, t: float, _node: int = -1) -> None:
        """A drain finished: a parked process looks again now."""
        if self.parked:
            self.parked = False
            self.timers.push(t, UPGRADE)

    # -- the process ------------------------------------------------------------------------
    def upgrades(self) -> Iterator[float]:
        plan = self.plan
        assert plan is not None
        while True:
            began = self.now
            if plan.control_plane:
                done: set[int] = set()
                while len(done) < len(self.m.cp_nodes):
                    node = self.next_control_plane_node(done)
                    done.add(node)
                    yield from self.upgrade([node])
            for batch in self.worker_batches():
                yield from self.upgrade(batch)
            self.stats.upgrades += 1
            self.note("UpgradeCompleted", "cluster", "rolling upgrade completed")
            yield max(0.0, began + plan.every - self.now)

    def next_control_plane_node(self, done: set[int]) -> int:
        """The control-plane nodes in order, the etcd leader's last (it hands over only once)."""
        leader = self.m.member_nodes[self.etcd.leader] if self.etcd.leader >= 0 else -1
        left = [n for n in sorted(self.m.cp_nodes) if n not in done]
        rest = [n for n in left if n != leader]
        return rest[0] if rest else left[0]

    def worker_batches(self) -> list[list[int]]:
        plan, workers = self.plan, sorted(n for n in self.m.workers if n not in self.m.cp_nodes)  # compact: cp first
        assert plan is not None
        if plan.batch_level is not None:
            by_domain: dict[int, list[int]] = {}
            for n in workers:
                by_domain.setdefault(getattr(self.c.nodes[n], plan.batch_level), []).append(n)
            return list(by_domain.values())
        size = plan.batch_count if plan.batch_count is not None else \
            max(1, math.ceil((plan.batch_fraction or 0.0) * len(workers) - 1e-9))
        return [workers[i:i + size] for i in range(0, len(workers), size)]

    def upgrade(self, batch: list[int]) -> Iterator[float]:
        """Cordon and drain the batch, stop its nodes gracefully, wait, start them, uncordon."""
        plan = self.plan
        assert plan is not None
        while not self.healthy(batch):  # as an operator (or kubeadm's preflight) checks before each node
            yield HEALTH_POLL_SECONDS
        self.open_window()
        self.out.update(batch)
        self.out_version += 1
        for node in batch:
            self.drains.start(self.now, node)
        yield 0.0  # the drains' first tries come first (pushed before this wake-up)
        while not all(self.drains.draining.get(n) for n in batch):
            yield PARK
        for node in batch:
            self.stats.drains += 1
            blocked = self.drains.blocked_seconds.pop(node, None)
            if blocked is not None:
                self.blocked(blocked, self.drains.blocked_workloads.pop(node, ()))
        gap = max((self.etcd.hand_over(self.now, n) for n in batch), default=0.0)
        if gap > 0:
            self.stats.transfers += 1
            yield gap  # etcd stops once the transferee leads
        for node in batch:
            self.leases.release_on_stop(self.now, node)
            self.note("NodeRebooting", f"node/{self.c.nodes[node].name}", "stopped for the upgrade")
            self.stop_node(self.now, node, True)
        yield plan.per_node
        for node in batch:
            self.stop_node(self.now, node, False)
            self.work.uncordon(node)
            self.drains.draining.pop(node, None)
            self.note("NodeSchedulable", f"node/{self.c.nodes[node].name}", "upgraded and uncordoned")
        self.out.difference_update(batch)
        self.out_version += 1
        self.close_window(self.now)

    def healthy(self, batch: list[int]) -> bool:
        """The API and a controller-manager answer, and every control-plane node and every node of
        the batch is up and Ready: an upgrade does not take down what a failure already weakened."""
        up, not_ready = self.infra.node_up, self.lifecycle.not_ready
        return self.leases.kcm_ready and all(up[n] and not not_ready[n] for n in (*self.m.cp_nodes, *batch))

    # -- statistics --------------------------------------------------------------------------
    def blocked(self, seconds: float, workloads) -> None:
        s = self.stats
        s.blocked_drains += 1
        s.blocked_max_seconds = max(s.blocked_max_seconds, seconds)
        for name in dict.fromkeys(workloads):  # once each, in order (a set's order follows the hash seed)
            s.blocked_by[name] = s.blocked_by.get(name, 0) + 1

    def open_window(self) -> None:
        if self.window_since is None:
            self.window_since = self.now

    def close_window(self, t: float) -> None:
        if self.window_since is not None:
            self.stats.window_seconds += t - self.window_since
            self.window_since = None

    def load(self, hottest: float) -> None:
        """The hottest up worker now; kept while a batch is out."""
        if self.out:
            s = self.stats
            s.hottest_in_window = hottest if s.hottest_in_window is None else max(s.hottest_in_window, hottest)

    def close(self, horizon: float) -> PlannedStats:
        """End of the history: a drain still blocked counts up to the horizon."""
        self.close_window(horizon)
        for node, since in list(self.drains.blocked_since.items()):
            self.blocked(horizon - since, self.drains.blocked_workloads.get(node, ()))
        return self.stats

    def note(self, reason: str, obj: str, message: str) -> None:
        if self.log is not None:
            self.log.note(self.now, "Normal", reason, obj, message)
