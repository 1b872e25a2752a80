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
    failures_requested: int
    seed: int
    jobs: int
    wall_seconds: float
    partial: bool
    failure_rate: float  # expected failure events per second (stationary)
    sampling: SamplingPlan | None = None
    dask: str | None = None  # the Dask scheduler the histories ran on (None: this machine)

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


def iter_histories(sampler: StationarySampler | BiasedSampler, failures: int, seed: int,
                   fixed: tuple[int, float] | None = None) -> Iterator[tuple[History, np.random.SeedSequence]]:
    """Draw failure histories, one at a time, until ``failures`` events exist (the last one
    cut right after the last failure), each with the seed of its engine stream. With
    ``fixed`` = (histories, horizon) every variant of a comparison simulates the same time."""
    n_hist, horizon = fixed if fixed is not None else history_plan(failures, sampler.failure_rate)
    engine_root = np.random.SeedSequence([int(seed) & 0xFFFFFFFF, 0x6B63])
    index, total = 0, 0
    while (total < failures) if fixed is None else (index < n_hist):
        hist = sampler.history(index, horizon, seed)
        if fixed is None and total + hist.failures >= failures:
            hist = hist.truncated(failures - total)
        total += hist.failures
        yield hist, engine_root.spawn(1)[0]
        index += 1
        if index > 100 * n_hist + 1000:  # a pathological spec; never loop forever
            return


def run_monte_carlo(cluster: Cluster, failures: int = 10_000, seed: int = 1, jobs: int = 1,
                    progress: Callable[[int], None] | None = None,
                    model: ClusterModel | None = None,
                    fixed: tuple[int, float] | None = None, dask: str | None = None,
                    sampling: str = "plain", on_started: Callable[[], None] | None = None) -> SimulationOutput:
    """Simulate ``failures`` failure events; ``progress`` gets the failures done so far.
    ``fixed`` = (histories, horizon) simulates a set time instead (comparisons); ``dask``
    (a scheduler address or ``local``) plays the histories on a Dask cluster. ``sampling``:
    ``auto`` (importance sampling of overlaps where it applies, see :mod:`.rare`),
    ``importance`` or ``plain``. ``on_started`` is called once the histories run on other
    processes (never when they run in this one), so the caller can prepare what follows meanwhile."""
    if failures < 1:
        raise KchaosUsageError(f"--failures must be at least 1, got {failures}")
    try:
        plan = sampling_plan(cluster, sampling)
    except ValueError as exc:
        raise KchaosUsageError(str(exc)) from None
    start = time.perf_counter()
    model = model or ClusterModel(cluster)
    if model.blast is None:
        model.blast = BlastRadius(model)
        if not dask:  # large clusters: on the local pool, before the histories start
            settle_on_pool(model.blast, model.blast.single_domains(), jobs)
        model.cover_of_domain = workload_cover(model.blast)
    sampler = BiasedSampler(cluster, model=model) if plan.method == "importance" else StationarySampler(cluster)
    n_hist = (fixed or history_plan(failures, sampler.failure_rate, cluster))[0]
    check_rollouts(cluster, sampler.failure_rate if fixed is None else failures / (fixed[0] * fixed[1]))
    planned = iter_histories(sampler, failures, seed, fixed)
    results: list[HistoryResult] = []
    partial = False
    done = 0

    distributions = Distributions.empty(len(cluster.workloads))

    def finished(res: HistoryResult) -> None:
        nonlocal done
        keep()  # from now on Ctrl-C stops only the histories in flight; this one is kept
        distributions.absorb(res)
        results.append(res)
        done += res.failures
        if progress:
            progress(done)

    try:
        with open_pool(model, jobs, n_hist, dask) as pool:
            if pool is None:
                for item in planned:
                    with abortable():
                        res = simulate_history(model, *item)
                    finished(res)
            else:
                in_flight: deque = deque()
                for item in planned:  # a window of 2 x workers keeps every core busy, in order
                    in_flight.append(pool.submit(item))
                    if on_started is not None:  # the workers run (where processes fork, all of them now)
                        on_started()
                        on_started = None
                    if len(in_flight) >= 2 * pool.workers:
                        finished(pool.result(in_flight.popleft()))
                while in_flight:
                    finished(pool.result(in_flight.popleft()))
    except KeyboardInterrupt:
        if not results:  # nothing done yet: nothing partial to report either
            raise
        partial = True
    return SimulationOutput(cluster, model, results, distributions, failures, seed, jobs,
                            time.perf_counter() - start, partial, sampler.failure_rate, plan, dask)
