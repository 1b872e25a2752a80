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
import hashlib
from math import gamma, log

import numpy as np

from ..cluster import Cluster, Distribution, FailureSpec


@dataclass(frozen=True)
class History:
    """One independent simulated history.

    ``times``/``domains``/``down`` describe the transitions in time order
    (``down`` True = the instance fails at that time). ``initially_down`` lists
    instances already down at t=0. ``weight`` is the likelihood ratio of this
    history under the real model (1.0 for plain Monte Carlo). Importance-sampled histories
    (:mod:`.rare`) weigh each regenerative cycle instead: cycle k > 0 starts at
    ``cycle_starts[k - 1]`` and has the likelihood ratio ``cycle_weights[k]`` (cycle 0 runs
    from t=0); ``event_log_weight`` is the log ratio of the current cycle after each event,
    so the history can be cut after any failure.
    """

    index: int
    horizon: float
    times: np.ndarray
    domains: np.ndarray
    down: np.ndarray
    initially_down: np.ndarray
    weight: float = 1.0
    cycle_starts: np.ndarray | None = None
    cycle_weights: np.ndarray | None = None
    event_log_weight: np.ndarray | None = None

    @property
    def failures(self) -> int:
        return int(self.down.sum())

    @property
    def weighted(self) -> bool:
        return self.cycle_weights is not None

    def cycles(self) -> tuple[np.ndarray, np.ndarray]:
        """(starts, ratios) of the regenerative cycles: a plain history's cycles start at each
        failure that strikes a fully-up cluster, and have ratio 1."""
        if self.cycle_weights is not None:
            return self.cycle_starts, self.cycle_weights
        steps = np.where(self.down, 1, -1)
        down_before = len(self.initially_down) + np.concatenate(([0], np.cumsum(steps)[:-1]))
        starts = self.times[self.down & (down_before == 0)]
        return starts, np.ones(len(starts) + 1)

    def weighted_seconds(self) -> float:
        """The history's length with each cycle weighted (its plain length when unweighted):
        the denominator of a regenerative ratio estimator."""
        if self.cycle_weights is None:
            return self.horizon * self.weight
        edges = np.concatenate(([0.0], self.cycle_starts, [self.horizon]))
        return float(np.dot(np.diff(edges), self.cycle_weights))

    def truncated(self, failures: int) -> "History":
        """The same history cut just after its ``failures``-th failure event."""
        if failures >= self.failures:
            return self
        cut_event = int(np.flatnonzero(self.down)[failures - 1])
        end = float(self.times[cut_event])
        keep = slice(0, cut_event + 1)
        cycles = {}
        if self.cycle_weights is not None:
            n_start = int(np.searchsorted(self.cycle_starts, end, side="right"))
            weights = self.cycle_weights[: n_start + 1].copy()
            weights[-1] = np.exp(self.event_log_weight[cut_event])  # the cut cycle's ratio so far
            cycles = dict(cycle_starts=self.cycle_starts[:n_start], cycle_weights=weights,
                          event_log_weight=self.event_log_weight[keep])
        return History(self.index, end, self.times[keep], self.domains[keep], self.down[keep],
                       self.initially_down, self.weight, **cycles)


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


def _instance_transitions(spec: FailureSpec, horizon: float, rng: np.random.Generator):
    """Transition times of one instance over [0, horizon] and whether it starts down.

    Durations are drawn in blocks sized from the expected number of cycles, so an
    instance costs one or two calls whatever its rates.
    """
    assert spec.ttf is not None
    initially_down = bool(rng.random() < spec.unavailability)
    first = (_draw_residual(spec.ttr, rng, 1) if initially_down else _draw_residual(spec.ttf, rng, 1))[0]
    if first > horizon:
        return np.empty(0), initially_down
    cycle = spec.ttf.mean + spec.ttr.mean
    block = int(2 * horizon / cycle) + 4
    times = [np.array([first])]
    end = first
    down_after_first = not initially_down  # the first transition of a down instance is its repair
    while end <= horizon:
        a = _draw(spec.ttr if down_after_first else spec.ttf, rng, block)
        b = _draw(spec.ttf if down_after_first else spec.ttr, rng, block)
        steps = np.empty(2 * block)
        steps[0::2], steps[1::2] = a, b
        t = end + np.cumsum(steps)
        times.append(t)
        end = t[-1]
    all_t = np.concatenate(times)
    return all_t[all_t <= horizon], initially_down


def instance_key(seed: int, history: int, domain_id: str) -> tuple[int, int]:
    """Philox key of one instance's stream in one history: stable across topology variants,
    so variants that share an instance share its failures (common random numbers). The id
    goes in as a 64-bit hash (32 bits would give two of 5,000 imported node names the same
    stream about once in 300 topologies); seeds are below 2^32, histories far below."""
    return history_word(seed, history), id_word(domain_id)


def history_word(seed: int, history: int) -> int:
    """The first key word: the run seed and the history."""
    return (int(seed) & 0xFFFFFFFF) | (int(history) << 32)


def id_word(domain_id: str) -> int:
    """The second key word: the instance id's 64-bit hash (computed once per instance)."""
    digest = hashlib.blake2b(domain_id.encode(), digest_size=8, person=b"kchaos-fail").digest()
    return int.from_bytes(digest, "little")


class InstanceStreams:
    """One generator re-keyed per instance. Philox is counter-based: each key is an
    independent stream (Salmon et al., "Parallel random numbers: as easy as 1, 2, 3",
    SC 2011), and re-keying costs a state assignment (about 3 us) where seeding a fresh
    generator through a SeedSequence costs about 16 us, once per instance and history."""

    def __init__(self) -> None:
        self.bits = np.random.Philox(key=0)
        self.rng = np.random.Generator(self.bits)
        self._zeros = np.zeros(4, dtype=np.uint64)

    def stream(self, key: tuple[int, int]) -> np.random.Generator:
        """The generator at the start of ``key``'s stream (the previous stream is gone)."""
        self.bits.state = {"bit_generator": "Philox",
                           "state": {"counter": self._zeros, "key": np.array(key, dtype=np.uint64)},
                           "buffer": self._zeros, "buffer_pos": 4, "has_uint32": 0, "uinteger": 0}
        return self.rng


class StationarySampler:
    """Plain Monte Carlo: every instance alternates up/down as its spec says, each on
    its own random stream keyed by the run seed, the history and the instance's id."""

    def __init__(self, cluster: Cluster):
        self.streams = InstanceStreams()
        self.instances: list[tuple[int, int, FailureSpec]] = []  # (domain, id_word of its id, spec)
        for d in cluster.domains:
            spec = cluster.failure_spec(d)
            if spec is not None:
                self.instances.append((d.index, id_word(d.id), spec))
        #: Expected failure events per second over all instances (stationary).
        self.failure_rate = sum(1.0 / (spec.ttf.mean + spec.ttr.mean) for _, _, spec in self.instances)

    def history(self, index: int, horizon: float, seed: int) -> History:
        doms, times, downs, init = [], [], [], []
        first = history_word(seed, index)
        for dom, word, spec in self.instances:
            rng = self.streams.stream((first, word))  # instance_key(seed, index, the domain's id)
            t, initially_down = _instance_transitions(spec, horizon, rng)
            if initially_down:
                init.append(dom)
            if t.size:
                doms.append(np.full(t.size, dom, dtype=np.int64))
                times.append(t)
                down = np.zeros(t.size, dtype=bool)
                down[(1 if initially_down else 0)::2] = True
                downs.append(down)
        initially = np.array(sorted(init), dtype=np.int64)
        if not doms:
            empty = np.empty(0)
            return History(index, horizon, empty, empty.astype(np.int64), empty.astype(bool), initially)
        domains = np.concatenate(doms)
        t_all = np.concatenate(times)
        down_all = np.concatenate(downs)
        order = np.lexsort((domains, t_all))  # time, then domain index for exact ties
        return History(index, horizon, t_all[order], domains[order], down_all[order], initially)
