"""What a history hands to the analysis: streamed sums and fixed-bin distributions.

Components report state changes to the :class:`Recorder` as they happen (quorum
lost, API down, a workload below minAvailable, a pod ready again, the pending queue
growing or shrinking, load moved); it turns them into time-weighted totals, episode
sums (count, total, squares, longest) and log-binned distributions (election gaps,
recovery times, hottest-node peaks), so nothing grows with the number of events.
Only a what-if scenario (``samples=True``) also keeps each election's gap.
:meth:`Recorder.result` closes open episodes at the horizon and returns the
:class:`HistoryResult`.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np

from ..cluster_model import ClusterModel
from ..nodes.eviction import EvictionStats
from ..sampling.failures import History
from .cycles import CauseBook, CycleClock, CycleSums
from .leader import ControlSums, LeaderControl, control_parameters
from .sketch import EpisodeSums, LogHistogram
from ..workloads.upgrades import PlannedStats


def seconds_histogram() -> LogHistogram:
    """Durations from 0.1 ms to a thousand years."""
    return LogHistogram(1e-4)


def utilization_histogram() -> LogHistogram:
    return LogHistogram(1e-4)


@dataclass
class Episodes:
    """Down time of one yes/no quantity: whether down now, and its episodes' sums; with a
    clock, also the down seconds cycle by cycle (weighted by each cycle's ratio), and with a
    cause book, split by cause."""

    down: bool = False
    since: float = 0.0
    sums: EpisodeSums = field(default_factory=EpisodeSums)
    clock: CycleClock | None = None
    weighted: CycleSums | None = None
    causes: CauseBook | None = None
    #: Episodes counted at their natural rate: each times the ratio of the cycle it began in
    #: (= the count seen when sampled plainly).
    natural_count: float = 0.0
    #: Drop episodes that end at the instant they began (a covering domain's failure: the
    #: workload is up for no time before its pods on that domain stop).
    skip_empty: bool = False

    @property
    def total(self) -> float:
        return self.sums.total

    def set(self, t: float, down: bool) -> None:
        if down == self.down:
            return
        if down:
            self.since = t
            if self.causes is not None:
                self.causes.since = t
        else:
            self._episode(t)
        self.down = down

    def _episode(self, t: float) -> None:
        if self.skip_empty and t == self.since:
            return
        if self.causes is not None:
            self.causes.close(self.clock, t)
        self.sums.add(t - self.since)
        self.natural_count += self.clock.weight_at(self.since) if self.clock is not None else 1.0
        if self.clock is not None:
            if self.weighted is None:
                self.weighted = CycleSums()
            self.weighted.add(self.clock, self.since, t)

    def close(self, t: float) -> None:
        """End of the history: count an open episode up to ``t`` (censored)."""
        if self.down:
            self._episode(t)
            self.down = False
        if self.weighted is not None:
            self.weighted.flush(self.clock)
        if self.causes is not None:
            self.causes.finish(self.clock)
        self.clock = None  # the result does not carry the history's cycles


@dataclass
class PartialFailures:
    """Requests lost while a workload is up but some of its endpoints are dead (their share of
    the requests fails, :mod:`kchaos.model.nodes.endpoints`): seconds x the failing share,
    in episodes (a stretch with some dead endpoint listed) and, with a clock, cycle by cycle."""

    share: float = 0.0
    since: float = 0.0
    part: float = 0.0  # the open episode's failed request-seconds
    sums: EpisodeSums = field(default_factory=EpisodeSums)
    clock: CycleClock | None = None
    weighted: CycleSums | None = None

    @property
    def total(self) -> float:
        return self.sums.total

    def set(self, t: float, share: float) -> None:
        if share == self.share:
            return
        if self.share > 0.0:
            self.part += (t - self.since) * self.share
            if self.clock is not None:
                if self.weighted is None:
                    self.weighted = CycleSums()
                self.weighted.add(self.clock, self.since, t, self.share)
            if share == 0.0:
                self.sums.add(self.part)
                self.part = 0.0
        self.share, self.since = share, t

    def close(self, t: float) -> None:
        self.set(t, 0.0)
        if self.weighted is not None:
            self.weighted.flush(self.clock)
        self.clock = None


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
    elections: LogHistogram | None  # write gaps, seconds (None once merged into the run's)
    election_count: int
    election_seconds: float
    elections_after_leader_loss: int  # the rest followed a quorum loss
    election_samples: list[float]  # each gap, only for what-if scenarios
    recoveries: list[LogHistogram] | None  # per workload: seconds from a pod's loss to its replacement ready
    commit_seconds: dict[float, float]
    above_limit: Episodes
    pending_pod_seconds: float
    max_pending: int
    hottest_after_failure: LogHistogram | None  # per failure episode: the hottest up worker
    baseline_hottest: float
    pending_weighted: CycleSums | None = None  # importance sampling: pending pod-seconds, weighted
    weighted_seconds: float | None = None  # the history's length, cycles weighted (= horizon when plain)
    overlap_cycles: tuple[int, float] = (0, 0.0)  # cycles with two failures or more: how many, weight sum
    #: Per failure instance, the weighted lengths (squared, cubed) of the cycles it failed in,
    #: and the squared and cubed sums over all cycles (:meth:`.cycles.CycleClock.domain_time`).
    domain_time: tuple[dict, tuple[float, float]] | None = None
    eviction: EvictionStats = field(default_factory=EvictionStats)  # set by the engine at the end
    planned: PlannedStats = field(default_factory=PlannedStats)  # set by the engine at the end
    #: Per workload: requests failed on dead endpoints while it was up (request-level availability).
    requests: list[PartialFailures] = field(default_factory=list)
    #: Per workload: up while a domain that alone takes it down (on the initial placement) is
    #: down, which only pods that drifted away allow: the control variate's bias, measured.
    workload_cover_up: list[Episodes] = field(default_factory=list)
    #: The API down while a quorum holds, less the election control's martingale, cycle by
    #: cycle (:mod:`.leader`); None where the control does not apply.
    api_control: ControlSums | None = None


class Recorder:
    """The statistics of one history, fed by the components through typed calls."""

    def __init__(self, model: ClusterModel, pending: int, samples: bool = False, clock: CycleClock | None = None,
                 importance: bool = False):
        n_wl = len(model.cluster.workloads)
        self.m = model
        self.samples = samples
        #: The history's regenerative cycles (None: not tracked) and whether their ratios are
        #: likelihood ratios (importance sampling) that every figure must carry.
        self.clock = clock
        self.importance = importance and clock is not None
        self.quorum = Episodes(clock=clock)
        self.api = Episodes(clock=clock, causes=CauseBook() if clock is not None else None)
        self.api_only = Episodes(clock=clock)  # API down while a quorum exists (elections, no apiserver)
        control = control_parameters(model) if clock is not None else None
        self.leader_control = LeaderControl(clock, *control) if control is not None else None
        self.wl_eps = [Episodes(clock=clock, causes=CauseBook() if clock is not None else None) for _ in range(n_wl)]
        #: The workloads below minAvailable now (the attribution asks each one's cause).
        self.down_workloads: set[int] = set()
        self.wl_rest = [Episodes(clock=clock) for _ in range(n_wl)]
        #: Per workload: up while some domain that alone takes it down (on the initial placement)
        #: is down. The control variate counts all of such a domain's down time as the workload's;
        #: pods that drifted away since (evictions, no rollout yet) can keep it up, and the
        #: analysis takes this measured time off (the control variate's drift bias).
        self.wl_cover_up = [Episodes(clock=clock, skip_empty=True, causes=CauseBook() if clock is not None else None)
                            for _ in range(n_wl)]
        #: Per workload, its covering domains down now: the up-while-covered time is kept by
        #: domain ("overlap" while several are down), so that each domain's exact share in the
        #: attribution loses only what its own outages left up.
        self.cover_down: list[set[int]] = [set() for _ in range(n_wl)]
        #: Per workload, how many of the failure instances that alone take it down are down.
        self.cover_count = [0] * n_wl
        # Cycle by cycle only when importance-sampled (the only weighted reader of these sums).
        self.requests = [PartialFailures(clock=clock if self.importance else None) for _ in range(n_wl)]
        self.request_inputs = [(0, 0)] * n_wl  # per workload: (dead endpoints still listed, ready pods)
        self.elections = seconds_histogram()
        self.after_leader_loss = 0
        self.election_samples: list[float] = []
        self.recoveries = [seconds_histogram() for _ in range(n_wl)]
        self.commit_seconds: dict[float, float] = {}
        self.latency: float | None = None
        self.latency_since = 0.0
        self.pending_pod_seconds = 0.0
        self.pending_weighted = CycleSums()
        self.pending_since = 0.0
        self.max_pending = pending
        self.above = Episodes(clock=clock)
        self.hottest_after = utilization_histogram()
        self.peak: float | None = None  # hottest node since the last failure took workers down
        self.peak_weight = 1.0  # the ratio of the cycle in which that failure came
        #: Placement or the set of up nodes changed since load was last measured.
        self.load_dirty = True

    # -- control plane ---------------------------------------------------------------
    def quorum_state(self, t: float, lost: bool) -> None:
        self.quorum.set(t, lost)

    def api_state(self, t: float, api_ok: bool, quorum_held: bool) -> None:
        self.api.set(t, not api_ok)
        self.api_only.set(t, not api_ok and quorum_held)
        if self.leader_control is not None:
            self.leader_control.api(t, not api_ok and quorum_held)

    def leader(self, t: float, member: int) -> None:
        """etcd member ``member`` leads from ``t`` on (-1: none does)."""
        if self.leader_control is not None:
            self.leader_control.leader(t, member)

    def leader_failed(self, t: float) -> None:
        """A failure struck the leading member's node (or a domain above it) at ``t``."""
        if self.leader_control is not None:
            self.leader_control.leader_failed(t)

    def _weight(self, t: float) -> float:
        return self.clock.weight_at(t) if self.importance else 1.0

    def election(self, t: float, gap: float, cause: str) -> None:
        """A write gap of ``gap`` seconds ended at ``t``."""
        self.elections.add(gap, self._weight(t))
        self.after_leader_loss += cause == "leader-lost"
        if self.samples:
            self.election_samples.append(gap)

    def commit_latency(self, t: float, latency: float | None) -> None:
        """Commit latency from ``t`` on (None: writes impossible), weighted by time."""
        if latency != self.latency:
            if self.latency is not None:
                seconds = self.clock.weighted(self.latency_since, t) if self.importance else t - self.latency_since
                self.commit_seconds[self.latency] = self.commit_seconds.get(self.latency, 0.0) + seconds
            self.latency, self.latency_since = latency, t

    # -- workloads ---------------------------------------------------------------------
    def workload_state(self, t: float, w: int, down: bool) -> None:
        """Workload ``w`` is (or is not) below minAvailable from ``t`` on."""
        self.wl_eps[w].set(t, down)
        self.wl_rest[w].set(t, down and not self.cover_count[w])
        if self.cover_count[w]:
            self._cover_up(t, w)
        if down:
            self.down_workloads.add(w)
        else:
            self.down_workloads.discard(w)
        stale, ready = self.request_inputs[w]
        if stale:
            self.requests[w].set(t, 0.0 if down else stale / (stale + ready))

    def endpoints(self, t: float, w: int, stale: int, ready: int) -> None:
        """``w`` has ``stale`` dead endpoints still listed besides its ``ready`` pods, from ``t``
        on: that share of its requests fails while it is up (while it is down every request
        does, which its pod-level down time counts)."""
        self.request_inputs[w] = (stale, ready)
        self.requests[w].set(t, 0.0 if self.wl_eps[w].down or not stale else stale / (stale + ready))

    def causes(self, t: float, api: str | None, workloads: dict[int, str]) -> None:
        """Why the API and each down workload are down from ``t`` on (the attribution's verdict)."""
        if self.clock is None:
            return
        if self.api.down:
            self.api.causes.switch(self.clock, t, (api, not self.api_only.down))
        for w, cause in workloads.items():
            # Down time while a domain that alone takes the workload down is down is known
            # exactly (the control variate): the analysis keeps it apart, so it is marked.
            self.wl_eps[w].causes.switch(self.clock, t, (cause, self.cover_count[w] > 0))

    def cover(self, t: float, w: int, delta: int, domain: int = -1) -> None:
        """Failure instance ``domain``, which alone takes ``w`` down, failed (+1) or was repaired
        (-1): the down time it explains exactly is left out of ``workload_rest``."""
        self.cover_count[w] += delta
        (self.cover_down[w].add if delta > 0 else self.cover_down[w].discard)(domain)
        self.wl_rest[w].set(t, self.wl_eps[w].down and not self.cover_count[w])
        self._cover_up(t, w)

    def _cover_up(self, t: float, w: int) -> None:
        eps = self.wl_cover_up[w]
        up = self.cover_count[w] > 0 and not self.wl_eps[w].down
        eps.set(t, up)
        if up and eps.causes is not None:
            down = self.cover_down[w]
            eps.causes.switch(self.clock, t, (next(iter(down)) if len(down) == 1 else -1, False))

    def recovery(self, t: float, w: int, seconds: float) -> None:
        """A pod of ``w`` is ready again at ``t``, ``seconds`` after it was lost (weighted by the
        cycle of the loss, whose failure it recovers from)."""
        self.recoveries[w].add(seconds, self._weight(t - seconds))

    def pending_count(self, t: float, pending: int) -> None:
        """The pending queue is about to change at ``t``; ``pending`` pods waited since the last change."""
        self.pending_pod_seconds += pending * (t - self.pending_since)
        if self.importance and pending:
            self.pending_weighted.add(self.clock, self.pending_since, t, pending)
        self.pending_since = t

    def pending_settled(self, pending: int) -> None:
        """Scheduling has settled at the current time with ``pending`` pods waiting."""
        if pending > self.max_pending:
            self.max_pending = pending

    # -- load ----------------------------------------------------------------------------
    def load_changed(self) -> None:
        self.load_dirty = True

    def load(self, t: float, hottest: float) -> None:
        """The hottest up worker's utilisation at ``t``."""
        self.load_dirty = False
        self.above.set(t, hottest > self.m.utilization_limit + 1e-9)
        if self.peak is not None and hottest > self.peak:
            self.peak = hottest

    def failure_episode(self, t: float) -> None:
        """A failure took workers down at ``t``: close the previous episode's peak, open a new one."""
        if self.peak is not None:
            self.hottest_after.add(self.peak, self.peak_weight)
        self.peak = 0.0
        self.peak_weight = self._weight(t)
        self.load_dirty = True

    # -- end -------------------------------------------------------------------------------
    def result(self, history: History, horizon: float, pending: int) -> HistoryResult:
        """Close what is open at ``horizon`` (``pending`` pods still waiting) and return the figures."""
        for eps in (self.api, self.quorum, self.api_only, self.above, *self.wl_eps, *self.wl_rest, *self.wl_cover_up):
            eps.close(horizon)
        for partial in self.requests:
            partial.close(horizon)
        self.commit_latency(horizon, None)
        self.pending_count(horizon, pending)
        if self.peak is not None:
            self.hottest_after.add(self.peak, self.peak_weight)
        if self.importance:
            self.pending_weighted.flush(self.clock)
        h = history
        n_dom = len(self.m.cluster.domains)
        overlapping = np.zeros(0)
        if not self.importance:
            dom_fail = np.bincount(h.domains[h.down], minlength=n_dom)
        else:  # estimated failures: each weighted by its cycle's ratio
            weights = [self.clock.weight_at(t) for t in h.times[h.down].tolist()]
            dom_fail = np.bincount(h.domains[h.down], weights=weights, minlength=n_dom)
            per_cycle = np.bincount(np.searchsorted(h.cycle_starts, h.times[h.down], side="right"),
                                    minlength=len(h.cycle_weights))
            overlapping = h.cycle_weights[per_cycle >= 2]
        return HistoryResult(
            index=h.index, horizon=horizon, weight=h.weight, failures=int(h.down.sum()),
            domain_failures=dom_fail, api=self.api, quorum=self.quorum, api_only=self.api_only,
            workloads=self.wl_eps, workload_rest=self.wl_rest,
            elections=self.elections, election_count=self.elections.n, election_seconds=self.elections.total,
            elections_after_leader_loss=self.after_leader_loss,
            election_samples=self.election_samples,
            recoveries=self.recoveries, commit_seconds=self.commit_seconds, above_limit=self.above,
            pending_pod_seconds=self.pending_pod_seconds, max_pending=self.max_pending,
            pending_weighted=self.pending_weighted if self.importance else None,
            weighted_seconds=h.weighted_seconds(),
            overlap_cycles=(int(overlapping.size), float(overlapping.sum())),
            domain_time=self.clock.domain_time() if self.clock is not None else None,
            hottest_after_failure=self.hottest_after, baseline_hottest=self.m.baseline_hottest,
            requests=self.requests, workload_cover_up=self.wl_cover_up,
            api_control=self.leader_control.close(horizon) if self.leader_control is not None else None)
