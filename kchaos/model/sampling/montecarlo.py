"""Monte Carlo driver: N failures spread over independent histories.

``--failures N`` injects N failure events in total. The driver draws failure
histories (cheap, vectorised) one at a time, as the engine needs them, until N
failures exist, cutting the last history right after the N-th, and plays each
through the engine, possibly in parallel with a bounded window of histories in
flight, so that memory for planned histories stays small and progress starts at once. Every history has its own child of one
``SeedSequence(seed)``, so results do not depend on ``--jobs`` or timing.
An interrupt keeps the histories already finished and marks the run partial
(:mod:`kchaos.interrupts`: once one is finished, Ctrl-C stops only the histories in flight).
"""

from __future__ import annotations

import math
import time
from collections import deque
from dataclasses import dataclass
from typing import Callable, Iterator

import numpy as np

from ...errors import KchaosUsageError, Problem
from ...interrupts import abortable, keep
from ..cluster import Cluster
from ..engine import ClusterModel, HistoryResult, simulate_history
from .failures import History, StationarySampler
from .rare import BiasedSampler, SamplingPlan, sampling_plan
from .pools import open_pool, settle_on_pool
from ..recording.recorder import seconds_histogram, utilization_histogram
from ..recording.sketch import LogHistogram
from ..scheduling.response import BlastRadius, workload_cover

#: Histories per run when there are enough failures: enough independent batches
#: for an honest between-history variance, long enough that each holds many failures.
TARGET_HISTORIES = 40
MIN_FAILURES_PER_HISTORY = 25
#: Above 40 x this, histories get more numerous instead of longer, so that each takes seconds
#: (progress moves, an interrupt loses little) whatever ``--failures`` is.
MAX_FAILURES_PER_HISTORY = 25_000


@dataclass
class SimulationOutput:
    cluster: Cluster
    model: ClusterModel
    histories: list[HistoryResult]  # per-history sums; their distributions are merged into:
    distributions: "Distributions"
    failures_requested: int | None  # None: run until the figures were tight (see analysis.precision)
    seed: int
    jobs: int
    wall_seconds: float
    partial: bool
    failure_rate: float  # expected failure events per second (stationary)
    sampling: SamplingPlan | None = None
    dask: str | None = None  # the Dask scheduler the histories ran on (None: this machine)
    #: How a run that stops when its figures are tight ended (kchaos.analysis.precision); None: a set count.
    stopping: dict | None = None

    @property
    def weighted(self) -> bool:
        """The histories are importance-sampled: figures are weighted sums."""
        return self.sampling is not None and self.sampling.method == "importance"


@dataclass
class Distributions:
    """The run's distributions, merged as histories finish (each history's own copy is then
    dropped, so memory does not grow with the number of histories)."""

    elections: LogHistogram
    recoveries: list[LogHistogram]
    hottest: LogHistogram

    @classmethod
    def empty(cls, workloads: int) -> "Distributions":
        return cls(seconds_histogram(), [seconds_histogram() for _ in range(workloads)], utilization_histogram())

    def absorb(self, res: HistoryResult) -> None:
        """Merge a finished history's distributions and release them from it."""
        self.elections.merge(res.elections)
        for mine, theirs in zip(self.recoveries, res.recoveries):
            mine.merge(theirs)
        self.hottest.merge(res.hottest_after_failure)
        res.elections, res.recoveries, res.hottest_after_failure = None, None, None


#: Rollouts a run plays per failure event, on average, at most: rollouts come every
#: ``kubernetes.rolloutInterval`` of simulated time whatever fails, so where failures are rare
#: or rollouts frequent they, not failures, would be a run's work (``rolloutInterval: 10ms``:
#: 10^8 per failure, a run that never ends; the 7-day default with only region failures, every
#: 200 years: 10^4, 74 s for 100 failures). The 7-day default on the examples is about 1.5;
#: 100 makes a run about 4 times as long.
MAX_ROLLOUTS_PER_FAILURE = 100


def _span(seconds: float) -> str:
    """``'13.8d'``, ``'3.3h'``, ``'20m'``, ``'10ms'``: what a topology file would say."""
    for unit, size in (("y", 365 * 86400.0), ("d", 86400.0), ("h", 3600.0), ("m", 60.0), ("s", 1.0)):
        if seconds >= size:
            return f"{seconds / size:.3g}{unit}"
    return f"{seconds * 1000:.3g}ms"


def check_rollouts(cluster: Cluster, failure_rate: float) -> None:
    """Refuse a run whose rollouts would outnumber its failures more than
    :data:`MAX_ROLLOUTS_PER_FAILURE` times (its time would not follow ``--failures``)."""
    interval = cluster.kubernetes.rollout_interval
    if not interval or failure_rate <= 0 or not any(w.kind == "Deployment" for w in cluster.workloads):
        return
    per_failure = 1.0 / failure_rate / interval
    if per_failure > MAX_ROLLOUTS_PER_FAILURE:
        key = "kubernetes.rolloutInterval"
        given = key in cluster.lines
        shown = _span(interval) + ("" if given else " (the default)")
        raise KchaosUsageError([Problem(
            cluster.source, cluster.lines.get(key, cluster.lines.get("kubernetes")), key,
            f"{shown} is {per_failure:,.0f} rollouts per failure event simulated (one failure every "
            f"{_span(1.0 / failure_rate)} on average); kchaos plays at most {MAX_ROLLOUTS_PER_FAILURE}, "
            f"so that a run's time follows --failures: set at least "
            f"{_span(1.0 / failure_rate / MAX_ROLLOUTS_PER_FAILURE)}, or none")])


def nothing_to_simulate(cluster: Cluster) -> KchaosUsageError:
    return KchaosUsageError([Problem(cluster.source, cluster.lines.get("failures"), "failures",
                                     "every failure kind is switched off (`none`): there is nothing to simulate")])


def history_plan(failures: int, failure_rate: float, cluster: Cluster | None = None) -> tuple[int, float]:
    """(number of histories aimed at, length of each in seconds) for ``failures`` events."""
    if failure_rate <= 0:
        if cluster is not None:
            raise nothing_to_simulate(cluster)
        raise KchaosUsageError("every failure kind is switched off (`none`): there is nothing to simulate")
    n_hist = max(1, min(TARGET_HISTORIES, failures // MIN_FAILURES_PER_HISTORY),
                 math.ceil(failures / MAX_FAILURES_PER_HISTORY))
    return n_hist, failures / n_hist / failure_rate


def engine_seed(seed: int, index: int) -> np.random.SeedSequence:
    """The seed of history ``index``'s engine stream (elections, leases, rollouts): the
    ``index``-th child of one root, so any range of histories can be played on its own."""
    return np.random.SeedSequence([int(seed) & 0xFFFFFFFF, 0x6B63], spawn_key=(index,))


def iter_histories(sampler: StationarySampler | BiasedSampler, failures: int, seed: int,
                   fixed: tuple[int, float] | None = None) -> Iterator[tuple[History, np.random.SeedSequence]]:
    """Draw failure histories, one at a time, until ``failures`` events exist (the last one
    cut right after the last failure), each with the seed of its engine stream. With
    ``fixed`` = (histories, horizon) every variant of a comparison simulates the same time."""
    n_hist, horizon = fixed if fixed is not None else history_plan(failures, sampler.failure_rate)
    index, total = 0, 0
    while (total < failures) if fixed is None else (index < n_hist):
        hist = sampler.history(index, horizon, seed)
        if fixed is None and total + hist.failures >= failures:
            hist = hist.truncated(failures - total)
        total += hist.failures
        yield hist, engine_seed(seed, index)
        index += 1
        if index > 100 * n_hist + 1000:  # a pathological spec; never loop forever
            return


def history_range(sampler: StationarySampler | BiasedSampler, first: int, end: int, horizon: float,
                  seed: int) -> Iterator[tuple[History, np.random.SeedSequence]]:
    """Histories ``first`` to ``end - 1``, each ``horizon`` seconds long (never cut): the
    batches of a run that stops when its figures are tight."""
    for index in range(first, end):
        yield sampler.history(index, horizon, seed), engine_seed(seed, index)


class Campaign:
    """Histories played through the engine in order, on one pool, merged as they finish; a run
    that stops when its figures are tight plays several batches on it (:meth:`play`).

    ``sampling``: ``auto`` (importance sampling of overlaps where it applies, see :mod:`.rare`),
    ``importance`` or ``plain``; ``dask`` (a scheduler address or ``local``) plays the histories
    on a Dask cluster; ``progress`` gets the failures done so far; ``on_started`` is called once
    the histories run on other processes (never when they run in this one), so the caller can
    prepare what follows meanwhile."""

    def __init__(self, cluster: Cluster, seed: int = 1, jobs: int = 1, model: ClusterModel | None = None,
                 dask: str | None = None, sampling: str = "plain",
                 progress: Callable[[int], None] | None = None, on_started: Callable[[], None] | None = None):
        try:
            self.plan = sampling_plan(cluster, sampling)
        except ValueError as exc:
            raise KchaosUsageError(str(exc)) from None
        self.start = time.perf_counter()
        self.cluster, self.seed, self.jobs, self.dask = cluster, seed, jobs, dask
        self.model = model = model or ClusterModel(cluster)
        if model.blast is None:
            model.blast = BlastRadius(model)
            if not dask:  # large clusters: on the local pool, before the histories start
                settle_on_pool(model.blast, model.blast.single_domains(), jobs)
            model.cover_of_domain = workload_cover(model.blast)
        self.sampler = BiasedSampler(cluster, model=model) if self.plan.method == "importance" \
            else StationarySampler(cluster)
        if self.sampler.failure_rate <= 0:
            raise nothing_to_simulate(cluster)
        check_rollouts(cluster, self.sampler.failure_rate)
        self.progress, self.on_started = progress, on_started
        self.results: list[HistoryResult] = []
        self.distributions = Distributions.empty(len(cluster.workloads))
        self.done = 0  # failures played so far
        self.partial = False  # interrupted
        self.pool = None
        self._context = None

    def __enter__(self) -> "Campaign":
        return self

    def __exit__(self, *exc) -> None:
        self.close(*exc)

    def close(self, *exc) -> None:
        """Close the pool; with an exception (an interrupt), the work not started is dropped."""
        if self._context is not None:
            context, self._context, self.pool = self._context, None, None
            context.__exit__(*(exc or (None, None, None)))

    def _open(self, histories: int):
        """The pool (None: this process), opened at the first batch and kept for the next."""
        if self._context is None:
            self._context = open_pool(self.model, self.jobs, histories, self.dask)
            self.pool = self._context.__enter__()
        return self.pool

    def _finished(self, res: HistoryResult) -> None:
        keep()  # from now on Ctrl-C stops only the histories in flight; this one is kept
        self.distributions.absorb(res)
        self.results.append(res)
        self.done += res.failures
        if self.progress:
            self.progress(self.done)

    def play(self, planned: Iterator[tuple[History, np.random.SeedSequence]], histories: int,
             deadline: float | None = None) -> bool:
        """Play ``planned`` (about ``histories`` of them), in order; False when stopped before
        the end: interrupted (``partial``), or past ``deadline`` (a ``time.perf_counter()``
        value; no history starts after it but the run's first, those queued are dropped, and the
        results stay the histories finished in order)."""
        def late() -> bool:  # (one history always runs, so that a run has figures)
            return deadline is not None and bool(self.results or in_flight) and time.perf_counter() >= deadline

        in_flight: deque = deque()

        try:
            pool = self._open(histories)
            if pool is None:
                for item in planned:
                    if late():
                        return False
                    with abortable():
                        res = simulate_history(self.model, *item)
                    self._finished(res)
                return True
            stopped = False
            for item in planned:  # a window of 2 x workers keeps every core busy, in order
                if late():
                    stopped = True
                    break
                in_flight.append(pool.submit(item))
                if self.on_started is not None:  # the workers run (where processes fork, all of them now)
                    self.on_started()
                    self.on_started = None
                if len(in_flight) >= 2 * pool.workers:
                    self._finished(pool.result(in_flight.popleft()))
            while in_flight:
                future = in_flight.popleft()
                if (stopped or late()) and self.results:
                    stopped = True
                    if future.cancel():  # not started yet: dropped, with every one after it
                        for rest in in_flight:
                            rest.cancel()
                        break
                self._finished(pool.result(future))
            return not stopped
        except KeyboardInterrupt as exc:
            self.close(type(exc), exc, exc.__traceback__)  # the work queued is dropped, not waited for
            if not self.results:  # nothing done yet: nothing partial to report either
                raise
            self.partial = True
            return False

    def output(self, failures_requested: int | None) -> SimulationOutput:
        return SimulationOutput(self.cluster, self.model, self.results, self.distributions, failures_requested,
                                self.seed, self.jobs, time.perf_counter() - self.start, self.partial,
                                self.sampler.failure_rate, self.plan, self.dask)


def run_monte_carlo(cluster: Cluster, failures: int = 10_000, seed: int = 1, jobs: int = 1,
                    progress: Callable[[int], None] | None = None,
                    model: ClusterModel | None = None,
                    fixed: tuple[int, float] | None = None, dask: str | None = None,
                    sampling: str = "plain", on_started: Callable[[], None] | None = None) -> SimulationOutput:
    """Simulate ``failures`` failure events (see :class:`Campaign` for the other arguments).
    ``fixed`` = (histories, horizon) simulates a set time instead (comparisons)."""
    if failures < 1:
        raise KchaosUsageError(f"--failures must be at least 1, got {failures}")
    with Campaign(cluster, seed, jobs, model, dask, sampling, progress, on_started) as campaign:
        n_hist = (fixed or history_plan(failures, campaign.sampler.failure_rate, cluster))[0]
        campaign.play(iter_histories(campaign.sampler, failures, seed, fixed), n_hist)
    return campaign.output(failures)
