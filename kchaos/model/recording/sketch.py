"""Streamed distributions: fixed log-spaced bins, so memory does not grow with events.

A history records election gaps, recovery times and hottest-node peaks into a
:class:`LogHistogram`: log-spaced bins 0.1% wide above a floor, kept sparse (a bin
exists once it got a value), each with its count and the smallest and largest value
it got, plus exact count, sum, minimum and maximum. An order statistic comes back as
the middle of its bin's smallest and largest value: exact when the bin holds one value
(the common case for discrete figures: a recovery chain of exactly 380 s, a node at
exactly 50%), within 0.1% otherwise. Histograms for the report are re-binned from it,
and histories merge bin by bin. Values at or below the floor share the first bin.

:class:`EpisodeSums` keeps what the interval estimators read from a run of down
episodes: how many, their total, the sum of their squares and the longest.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field

import numpy as np

#: Each bin's upper edge is this times its lower edge: an order statistic is within 0.1%.
RATIO = 1.001
_LOG_RATIO = math.log(RATIO)


@dataclass
class LogHistogram:
    """Log-spaced bins above ``floor`` (kept sparse: only the bins that got a value), each
    with its count and its smallest and largest value; exact count, sum, min and max."""

    floor: float
    bins: dict = field(default_factory=dict)  # bin -> [count, smallest, largest]
    n: int = 0
    mass: float = 0.0  # the sum of the values' weights (= n when unweighted)
    total: float = 0.0
    low: float = math.inf
    high: float = -math.inf

    def _bin(self, x: float) -> int:
        return 0 if x <= self.floor else int(math.log(x / self.floor) / _LOG_RATIO) + 1

    def add(self, x: float, weight: float = 1.0) -> None:
        """One value; an importance-sampled history gives each its cycle's likelihood ratio,
        so the bins hold estimated counts (``mass``) while ``n`` counts the values seen."""
        b = self._bin(x)
        entry = self.bins.get(b)
        if entry is None:
            self.bins[b] = [weight, x, x]
        else:
            entry[0] += weight
            if x < entry[1]:
                entry[1] = x
            elif x > entry[2]:
                entry[2] = x
        self.n += 1
        self.mass += weight
        self.total += weight * x
        if x < self.low:
            self.low = x
        if x > self.high:
            self.high = x

    def merge(self, other: "LogHistogram") -> None:
        for b, (k, lo, hi) in other.bins.items():
            entry = self.bins.get(b)
            if entry is None:
                self.bins[b] = [k, lo, hi]
            else:
                entry[0] += k
                entry[1], entry[2] = min(entry[1], lo), max(entry[2], hi)
        self.n += other.n
        self.mass += other.mass
        self.total += other.total
        self.low, self.high = min(self.low, other.low), max(self.high, other.high)

    @property
    def weighted(self) -> bool:
        return self.mass != self.n

    @property
    def mean(self) -> float | None:
        return self.total / self.mass if self.mass > 0 else None

    def _sorted(self) -> tuple[list[int], np.ndarray]:
        keys = sorted(self.bins)
        return keys, np.cumsum([self.bins[b][0] for b in keys])

    def _order_statistic(self, keys: list[int], cumulative: np.ndarray, k: int) -> float:
        """The k-th smallest value (0-based): the middle of its bin's smallest and largest
        value (exact when the bin got one value), the extremes exact."""
        if k <= 0:
            return self.low
        if k >= self.n - 1:
            return self.high
        _, lo, hi = self.bins[keys[int(np.searchsorted(cumulative, k + 1))]]
        return 0.5 * (lo + hi)

    def quantile(self, q: float) -> float | None:
        """The q-quantile as numpy's default gives it (linear between the order statistics
        around rank q * (n - 1)), each within half a bin."""
        if not self.n:
            return None
        keys, cumulative = self._sorted()
        if self.weighted:  # the bin where the cumulative weight reaches q of the whole
            if q <= 0:
                return self.low
            if q >= 1:
                return self.high
            _, lo, hi = self.bins[keys[min(len(keys) - 1, int(np.searchsorted(cumulative, q * self.mass)))]]
            return 0.5 * (lo + hi)
        rank = q * (self.n - 1)
        below = self._order_statistic(keys, cumulative, math.floor(rank))
        above = self._order_statistic(keys, cumulative, math.ceil(rank))
        return below + (above - below) * (rank - math.floor(rank))

    def histogram(self, bins: int = 30, scale: float = 1.0, log: bool = False) -> dict:
        """``bins`` equal-width bins over [min, max] (times ``scale``), counts re-binned from
        the log bins (each log bin's count goes to the bin holding its middle). ``log``:
        geometric bins instead when the values span more than a decade (durations from
        seconds to days, where equal widths would put nearly everything in the first bin)."""
        if not self.n:
            return {"edges": [], "counts": []}
        lo, hi = self.low * scale, self.high * scale
        if hi <= lo:
            hi = lo + 1.0 if lo == 0 else lo * 1.001
        if log and lo > 0 and hi > 10 * lo:
            edges = np.geomspace(lo, hi, bins + 1)
        else:
            edges = np.linspace(lo, hi, bins + 1)
        entries = list(self.bins.values())
        middles = np.clip(np.array([0.5 * (e[1] + e[2]) for e in entries]) * scale, lo, hi)
        counts, _ = np.histogram(middles, bins=edges, weights=[e[0] for e in entries])
        if self.weighted:  # estimated counts
            return {"edges": [float(e) for e in edges], "counts": [round(float(c), 4) for c in counts]}
        return {"edges": [float(e) for e in edges], "counts": [int(round(c)) for c in counts]}


@dataclass
class EpisodeSums:
    """Down episodes of one quantity, as the interval needs them."""

    count: int = 0
    total: float = 0.0
    squares: float = 0.0
    longest: float = 0.0

    def add(self, d: float) -> None:
        self.count += 1
        self.total += d
        self.squares += d * d
        if d > self.longest:
            self.longest = d

    def merge(self, other: "EpisodeSums") -> "EpisodeSums":
        return EpisodeSums(self.count + other.count, self.total + other.total, self.squares + other.squares,
                           max(self.longest, other.longest))
