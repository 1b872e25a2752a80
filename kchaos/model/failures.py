"""Failure sampling: when each failure instance goes down and comes back.

A sampler turns the cluster's failure specs into one *history*: the sorted
up/down transitions of every instance over ``[0, horizon]``, starting from the
stationary state (each instance down with probability mttr/(mtbf+mttr), with an
equilibrium residual time), so that histories are independent, unbiased
replications. The engine consumes histories and never draws failure times
itself, so a different sampler (importance sampling with likelihood-ratio
weights, replayed scenarios) can be swapped in without touching it.
"""

from __future__ import annotations

from dataclasses import dataclass
from math import gamma, log

import numpy as np

from .cluster import Cluster, Distribution, FailureSpec


@dataclass(frozen=True)
class History:
    """One independent simulated history.

    ``times``/``domains``/``down`` describe the transitions in time order
    (``down`` True = the instance fails at that time). ``initially_down`` lists
    instances already down at t=0. ``weight`` is the likelihood ratio of this
    history under the real model (1.0 for plain Monte Carlo).
    """

    index: int
    horizon: float
    times: np.ndarray
    domains: np.ndarray
    down: np.ndarray
    initially_down: np.ndarray
    weight: float = 1.0

    @property
    def failures(self) -> int:
        return int(self.down.sum())

    def truncated(self, failures: int) -> "History":
        """The same history cut just after its ``failures``-th failure event."""
        if failures >= self.failures:
            return self
        cut_event = int(np.flatnonzero(self.down)[failures - 1])
        end = float(self.times[cut_event])
        keep = slice(0, cut_event + 1)
        return History(self.index, end, self.times[keep], self.domains[keep], self.down[keep],
                       self.initially_down, self.weight)


# -- drawing durations ------------------------------------------------------------

def _draw(dist: Distribution, rng: np.random.Generator, size: int) -> np.ndarray:
    """Fresh durations with the distribution's mean."""
    if dist.kind == "exponential":
        return rng.exponential(dist.mean, size)
    if dist.kind == "fixed":
        return np.full(size, dist.mean)
    if dist.kind == "weibull":
        k = float(dist.shape)
        scale = dist.mean / gamma(1.0 + 1.0 / k)
        return scale * rng.weibull(k, size)
    if dist.kind == "lognormal":
        s = float(dist.shape)
        mu = log(dist.mean) - s * s / 2.0
        return rng.lognormal(mu, s, size)
    raise ValueError(f"unknown distribution {dist.kind!r}")


def _draw_residual(dist: Distribution, rng: np.random.Generator, size: int) -> np.ndarray:
    """Remaining durations seen from a random instant (the equilibrium distribution):
    a size-biased length times a uniform fraction of it."""
    if dist.kind == "exponential":
        return rng.exponential(dist.mean, size)
    u = rng.random(size)
    if dist.kind == "fixed":
        return u * dist.mean
    if dist.kind == "weibull":
        k = float(dist.shape)
        scale = dist.mean / gamma(1.0 + 1.0 / k)
        length = scale * rng.gamma(1.0 + 1.0 / k, 1.0, size) ** (1.0 / k)
        return u * length
    if dist.kind == "lognormal":
        s = float(dist.shape)
        mu = log(dist.mean) - s * s / 2.0
        return u * rng.lognormal(mu + s * s, s, size)
    raise ValueError(f"unknown distribution {dist.kind!r}")


def _alternating(spec: FailureSpec, count: int, horizon: float, rng: np.random.Generator):
    """Transitions of ``count`` independent instances of one kind over [0, horizon].

    Returns (instance, time, down) arrays and the mask of instances down at t=0.
    Vectorised over instances: each round draws one up/down period per live instance.
    """
    assert spec.ttf is not None
    p_down = spec.unavailability
    initially_down = rng.random(count) < p_down
    first = np.where(initially_down,
                     _draw_residual(spec.ttr, rng, count),
                     _draw_residual(spec.ttf, rng, count))
    inst_parts, time_parts, down_parts = [], [], []
    instances = np.arange(count)
    t = first
    # The first transition of an initially-down instance is a repair.
    is_down_next = ~initially_down
    while instances.size:
        live = t <= horizon
        instances, t, is_down_next = instances[live], t[live], is_down_next[live]
        if not instances.size:
            break
        inst_parts.append(instances)
        time_parts.append(t)
        down_parts.append(is_down_next)
        n = instances.size
        gap = np.where(is_down_next, _draw(spec.ttr, rng, n), _draw(spec.ttf, rng, n))
        t = t + gap
        is_down_next = ~is_down_next
    if inst_parts:
        return (np.concatenate(inst_parts), np.concatenate(time_parts),
                np.concatenate(down_parts), initially_down)
    empty = np.empty(0)
    return empty.astype(np.int64), empty, empty.astype(bool), initially_down


class StationarySampler:
    """Plain Monte Carlo: every instance alternates up/down as its spec says."""

    def __init__(self, cluster: Cluster):
        self.groups: list[tuple[FailureSpec, np.ndarray]] = []
        for kind, spec in cluster.failures.items():
            if spec.ttf is None:
                continue
            ids = np.array([d.index for d in cluster.domains if d.kind == kind], dtype=np.int64)
            if ids.size:
                self.groups.append((spec, ids))
        #: Expected failure events per second over all instances (stationary).
        self.failure_rate = sum(ids.size / (spec.ttf.mean + spec.ttr.mean) for spec, ids in self.groups)

    def history(self, index: int, horizon: float, rng: np.random.Generator) -> History:
        doms, times, downs, init = [], [], [], []
        for spec, ids in self.groups:
            inst, t, down, initially_down = _alternating(spec, ids.size, horizon, rng)
            doms.append(ids[inst])
            times.append(t)
            downs.append(down)
            init.append(ids[initially_down])
        if doms:
            domains = np.concatenate(doms)
            t_all = np.concatenate(times)
            down_all = np.concatenate(downs)
            order = np.lexsort((domains, t_all))  # time, then domain index for exact ties
            initially = np.sort(np.concatenate(init))
            return History(index, horizon, t_all[order], domains[order], down_all[order], initially)
        empty = np.empty(0)
        return History(index, horizon, empty, empty.astype(np.int64), empty.astype(bool),
                       empty.astype(np.int64))
