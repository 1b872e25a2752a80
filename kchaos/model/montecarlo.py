"""Monte Carlo driver: N failures spread over independent histories.

``--failures N`` injects N failure events in total. The driver first draws the
failure histories (cheap, vectorised) until N failures exist, cutting the last
history right after the N-th, then plays each history through the engine,
possibly in parallel. Every history has its own child of one
``SeedSequence(seed)``, so results do not depend on ``--jobs`` or timing.
An interrupt keeps the histories already finished and marks the run partial.
"""

from __future__ import annotations

import time
from concurrent.futures import ProcessPoolExecutor
from dataclasses import dataclass
from typing import Callable

import numpy as np

from ..errors import KchaosUsageError
from .cluster import Cluster
from .engine import ClusterModel, HistoryResult, simulate_history
from .failures import History, StationarySampler
from .response import BlastRadius, workload_cover

#: Histories per run when there are enough failures: enough independent batches
#: for an honest between-history variance, long enough that each holds many failures.
TARGET_HISTORIES = 40
MIN_FAILURES_PER_HISTORY = 25


@dataclass
class SimulationOutput:
    cluster: Cluster
    model: ClusterModel
    histories: list[HistoryResult]
    failures_requested: int
    seed: int
    jobs: int
    wall_seconds: float
    partial: bool
    failure_rate: float  # expected failure events per second (stationary)


def history_plan(failures: int, failure_rate: float) -> tuple[int, float]:
    """(number of histories aimed at, length of each in seconds) for ``failures`` events."""
    if failure_rate <= 0:
        raise KchaosUsageError("every failure kind is switched off (`none`): there is nothing to simulate")
    n_hist = max(1, min(TARGET_HISTORIES, failures // MIN_FAILURES_PER_HISTORY))
    return n_hist, failures / n_hist / failure_rate


def plan_histories(sampler: StationarySampler, failures: int, seed: int,
                   fixed: tuple[int, float] | None = None) -> list[tuple[History, np.random.SeedSequence]]:
    """Draw failure histories until ``failures`` events exist (the last one cut right after
    the last failure), each with the seed of its engine stream. With ``fixed`` =
    (histories, horizon) every variant of a comparison simulates the same time instead."""
    n_hist, horizon = fixed if fixed is not None else history_plan(failures, sampler.failure_rate)
    engine_root = np.random.SeedSequence([int(seed) & 0xFFFFFFFF, 0x6B63])
    planned, total = [], 0
    while (total < failures) if fixed is None else (len(planned) < n_hist):
        index = len(planned)
        hist = sampler.history(index, horizon, seed)
        if fixed is None and total + hist.failures >= failures:
            hist = hist.truncated(failures - total)
        total += hist.failures
        planned.append((hist, engine_root.spawn(1)[0]))
        if len(planned) > 100 * n_hist + 1000:  # a pathological spec; never loop forever
            break
    return planned


_worker_model: ClusterModel | None = None


def _init_worker(cluster: Cluster, cover: dict[int, tuple[int, ...]]) -> None:
    global _worker_model
    _worker_model = ClusterModel(cluster)
    _worker_model.cover_of_domain = cover


def _run_in_worker(item: tuple[History, np.random.SeedSequence]) -> HistoryResult:
    assert _worker_model is not None
    return simulate_history(_worker_model, *item)


def run_monte_carlo(cluster: Cluster, failures: int = 10_000, seed: int = 1, jobs: int = 1,
                    progress: Callable[[int], None] | None = None,
                    model: ClusterModel | None = None,
                    fixed: tuple[int, float] | None = None) -> SimulationOutput:
    """Simulate ``failures`` failure events; ``progress`` gets the failures done so far.
    ``fixed`` = (histories, horizon) simulates a set time instead (comparisons)."""
    if failures < 1:
        raise KchaosUsageError(f"--failures must be at least 1, got {failures}")
    start = time.perf_counter()
    model = model or ClusterModel(cluster)
    if model.blast is None:
        model.blast = BlastRadius(model)
        model.cover_of_domain = workload_cover(model.blast)
    sampler = StationarySampler(cluster)
    planned = plan_histories(sampler, failures, seed, fixed)
    results: list[HistoryResult] = []
    partial = False
    done = 0
    try:
        if jobs > 1 and len(planned) > 1:
            with ProcessPoolExecutor(max_workers=jobs, initializer=_init_worker,
                                     initargs=(cluster, model.cover_of_domain)) as pool:
                for res in pool.map(_run_in_worker, planned, chunksize=1):
                    results.append(res)
                    done += res.failures
                    if progress:
                        progress(done)
        else:
            for item in planned:
                res = simulate_history(model, *item)
                results.append(res)
                done += res.failures
                if progress:
                    progress(done)
    except KeyboardInterrupt:
        partial = True
    return SimulationOutput(cluster, model, results, failures, seed, jobs,
                            time.perf_counter() - start, partial, sampler.failure_rate)
