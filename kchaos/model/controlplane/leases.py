"""Leader-election leases of kube-controller-manager and kube-scheduler (client-go).

Each :class:`Lease` has a holder that renews it while its node reaches a serving
apiserver. A holder that stops reaching one gives up after renewDeadline; a dead
holder just stops renewing, and standbys (one per apiserver node) take the lease on
their first retry after leaseDuration has passed since they observed the last renewal.
:class:`Leases` combines the two into what the other components need to know:
the controller-manager leads (nodes can be marked NotReady and evicted), and it and
the scheduler lead (replacements can be created and scheduled).
"""

from __future__ import annotations

from math import inf

import numpy as np

from ..cluster_model import ClusterModel
from .etcd import ApiServers, ControlPlaneListener
from ..eventlog import EventLog
from ..infrastructure import Infrastructure
from ..timers import LEASE_ACQUIRE, LEASE_LOST, Timers

KCM, SCHEDULER = 0, 1
LEASE_NAMES = ("kube-controller-manager", "kube-scheduler")
#: client-go leader election: JitterUntil(retryPeriod, jitterFactor=1.2)
LEASE_JITTER = 1.2


class Lease:
    """One lease: its holder (a node, -1 for none), whether the holder renews it, and the
    standbys' pending attempt. ``epoch`` invalidates stale LEASE_ACQUIRE / LEASE_LOST timers."""

    def __init__(self, index: int, model: ClusterModel, infra: Infrastructure, api: ApiServers,
                 timers: Timers, rng: np.random.Generator, log: EventLog | None):
        self.index, self.name = index, LEASE_NAMES[index]
        self.c = model.cluster
        self.infra, self.api, self.timers, self.rng, self.log = infra, api, timers, rng, log
        self.holder = -1
        self.renewing = False
        self.renewed = -inf  # last successful renewal while nobody renews
        self.epoch = 0
        self.acquire_pending = False
        #: Acquisitions so far: a new holder is a new process, with nothing in memory.
        self.generation = 0

    def refresh(self, t: float) -> None:
        """The API or a node changed: the holder dies, stops reaching the API, or renews again."""
        rp = self.c.leader_election.retry_period
        h = self.holder
        if h >= 0:
            reaches = self.api.api_ok and self.api.reaches(h)
            if not self.infra.node_up[h]:
                if self.log is not None:
                    self.log.note(t, "Warning", "LeaderLost", f"lease/{self.name}",
                                  f"holder {self.c.nodes[h].name} is down; standbys wait for the lease to expire")
                if self.renewing:
                    self.renewed = t - self.rng.random() * rp
                self.holder = -1
                self.renewing = False
                self.epoch += 1
                self.schedule_acquire(t)
            elif not reaches and self.renewing:
                self.renewing = False
                self.renewed = t - self.rng.random() * rp
                self.epoch += 1
                self.timers.push(self.renewed + self.c.leader_election.renew_deadline,
                                 LEASE_LOST, self.index, self.epoch)
            elif reaches and not self.renewing:
                self.renewing = True
                self.epoch += 1
        elif not self.acquire_pending:
            self.schedule_acquire(t)

    def schedule_acquire(self, t: float) -> None:
        """Standbys retry every retryPeriod (jitter 1.2); the first try after the lease
        expired, while the API answers, takes it."""
        if not self.api.api_ok:
            return
        candidates = self.api.serving()
        if not candidates:
            return
        le = self.c.leader_election
        a, b = le.retry_period, le.retry_period * (1.0 + LEASE_JITTER)
        k = len(candidates)

        def residual() -> np.ndarray:
            """Time to each candidate's next try: a size-biased period times a uniform."""
            periods = np.sqrt(a * a + self.rng.random(k) * (b * b - a * a))
            return self.rng.random(k) * periods

        # Each standby saw the last renewal at its own next try (``observedTime``) and counts the
        # lease's expiry from there (client-go leaderelection.go, isLeaseValid).
        observed = self.renewed + residual()
        tries = np.maximum(t, observed + le.lease_duration) + residual()
        first = int(np.argmin(tries))
        self.acquire_pending = True
        self.epoch += 1
        self.timers.push(float(tries[first]), LEASE_ACQUIRE, self.index, self.epoch * 1024 + first)

    def on_acquire(self, t: float, token: int) -> bool:
        """A standby's try comes due; True when it took the lease."""
        epoch, first = divmod(token, 1024)
        if epoch != self.epoch:
            return False
        self.acquire_pending = False
        candidates = self.api.serving() if self.api.api_ok else []
        if not candidates:
            return False  # retried when the API comes back (refresh)
        self.holder = candidates[min(first, len(candidates) - 1)]
        self.generation += 1
        if self.log is not None:
            self.log.note(t, "Normal", "LeaderElection", f"lease/{self.name}",
                          f"{self.c.nodes[self.holder].name} became leader")
        self.renewing = True
        self.epoch += 1
        return True

    def release(self, t: float) -> None:
        """The holder stops gracefully and clears the lease (client-go ReleaseOnCancel): the
        standbys take it at their next try, without waiting for it to expire."""
        if self.holder < 0:
            return
        if self.log is not None:
            self.log.note(t, "Normal", "LeaderElection", f"lease/{self.name}",
                          f"{self.c.nodes[self.holder].name} released the lease as it stopped")
        self.holder = -1
        self.renewing = False
        self.renewed = -inf
        self.epoch += 1
        self.acquire_pending = False
        self.schedule_acquire(t)

    def on_lost(self, t: float, epoch: int) -> bool:
        """renewDeadline passed without a renewal: the holder steps down; True if it did."""
        if epoch != self.epoch:
            return False
        if self.log is not None:
            self.log.note(t, "Warning", "LeaderElectionLost", f"lease/{self.name}",
                          f"{self.c.nodes[self.holder].name} could not renew within renewDeadline")
        self.holder = -1
        self.epoch += 1
        self.acquire_pending = False
        self.schedule_acquire(t)
        return True


class Leases:
    """The controller-manager and scheduler leases, and whether their controllers act."""

    def __init__(self, model: ClusterModel, infra: Infrastructure, api: ApiServers, timers: Timers,
                 rng: np.random.Generator, log: EventLog | None, listener: ControlPlaneListener):
        self.m, self.infra, self.api, self.rng, self.listener = model, infra, api, rng, listener
        self.leases = tuple(Lease(i, model, infra, api, timers, rng, log) for i in (KCM, SCHEDULER))
        self.kcm_ready = False  # nodes can be marked NotReady and evicted
        self.controllers_ready = False  # replacements can be created and scheduled

    @property
    def kcm_generation(self) -> int:
        """Changes whenever a controller-manager takes the lease (a process that starts afresh)."""
        return self.leases[KCM].generation

    def choose_initial_holders(self) -> None:
        """At t=0 each lease is held by an apiserver node that is up (any, if none is)."""
        alive_api = [n for n in self.m.api_nodes if self.infra.node_up[n]] or self.m.api_nodes
        for lease in self.leases:
            if alive_api:
                lease.holder = alive_api[int(self.rng.integers(len(alive_api)))]

    def refresh(self, t: float) -> None:
        for lease in self.leases:
            lease.refresh(t)
        self.refresh_controllers(t)

    def release_on_stop(self, t: float, node: int) -> None:
        """``node`` stops gracefully. kube-scheduler releases its lease (ReleaseOnCancel: true in
        cmd/kube-scheduler/app/options/options.go); kube-controller-manager does not (its
        leaderElectAndRun sets no ReleaseOnCancel), so its lease expires as on a crash."""
        lease = self.leases[SCHEDULER]
        if lease.holder == node:
            lease.release(t)
            self.refresh_controllers(t)

    def on_acquire(self, t: float, index: int, token: int) -> None:
        if self.leases[index].on_acquire(t, token):
            self.refresh_controllers(t)

    def on_lost(self, t: float, index: int, epoch: int) -> None:
        if self.leases[index].on_lost(t, epoch):
            self.refresh_controllers(t)

    def refresh_controllers(self, t: float) -> None:
        """NotReady and eviction need the API and a controller-manager leader; creating and
        placing replacements also needs a scheduler leader."""
        kcm = self.api.api_ok and self.leases[KCM].renewing
        ready = kcm and self.leases[SCHEDULER].renewing
        kcm_back, ready_back = kcm and not self.kcm_ready, ready and not self.controllers_ready
        self.kcm_ready, self.controllers_ready = kcm, ready
        if kcm_back or ready_back:
            self.listener.leaders_changed(t, kcm_back, ready_back)
