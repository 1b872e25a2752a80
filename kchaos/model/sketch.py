"""Streamed distributions: fixed log-spaced bins, so memory does not grow with events.

A history records election gaps, recovery times and hottest-node peaks into a
:class:`LogHistogram`: bins 1% wide (each edge 1.01 times the previous) between a
floor and a ceiling, each with its count and the smallest and largest value it got,
plus exact count, sum, minimum and maximum. An order statistic comes back as the
middle of its bin's smallest and largest value: exact when the bin holds one value
(the common case for discrete figures: a recovery chain of exactly 380 s, a node at
exactly 50%), within 1% otherwise. Histograms for the report are re-binned from it,
and histories merge by adding counts. Values at or below the floor share the first bin.

:class:`EpisodeSums` keeps what the interval estimators read from a run of down
episodes: how many, their total, the sum of their squares and the longest.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field

import numpy as np

#: Each bin's upper edge is this times its lower edge: quantiles within +-0.5%.
RATIO = 1.01
_LOG_RATIO = math.log(RATIO)


@dataclass
class LogHistogram:
    """Counts in log-spaced bins over [floor, ceiling]; exact count, sum, min and max."""

    floor: float
    ceiling: float
    counts: np.ndarray = field(init=False)
    n: int = 0
    total: float = 0.0
    low: float = math.inf
    high: float = -math.inf

    def __post_init__(self) -> None:
        size = int(math.ceil(math.log(self.ceiling / self.floor) / _LOG_RATIO)) + 1
        self.counts = np.zeros(size, dtype=np.int64)
        self.lows = np.full(size, math.inf)
        self.highs = np.full(size, -math.inf)

    def _bin(self, x: float) -> int:
        if x <= self.floor:
            return 0
        return min(len(self.counts) - 1, int(math.log(x / self.floor) / _LOG_RATIO) + 1)

    def add(self, x: float) -> None:
        b = self._bin(x)
        self.counts[b] += 1
        if x < self.lows[b]:
            self.lows[b] = x
        if x > self.highs[b]:
            self.highs[b] = x
        self.n += 1
        self.total += x
        if x < self.low:
            self.low = x
        if x > self.high:
            self.high = x

    def merge(self, other: "LogHistogram") -> None:
        self.counts += other.counts
        np.minimum(self.lows, other.lows, out=self.lows)
        np.maximum(self.highs, other.highs, out=self.highs)
        self.n += other.n
        self.total += other.total
        self.low, self.high = min(self.low, other.low), max(self.high, other.high)

    @property
    def mean(self) -> float | None:
        return self.total / self.n if self.n else None

    def _value(self, b: int) -> float:
        """The middle of what bin ``b`` got (its one value, when it got one value)."""
        return 0.5 * (self.lows[b] + self.highs[b])

    def _order_statistic(self, cumulative: np.ndarray, k: int) -> float:
        """The k-th smallest value (0-based), within half a bin; the extremes are exact."""
        if k <= 0:
            return self.low
        if k >= self.n - 1:
            return self.high
        b = int(np.searchsorted(cumulative, k + 1))
        return min(self.high, max(self.low, self._value(b)))

    def quantile(self, q: float) -> float | None:
        """The q-quantile as numpy's default gives it (linear between the order statistics
        around rank q * (n - 1)), each within half a bin."""
        if not self.n:
            return None
        rank = q * (self.n - 1)
        cumulative = np.cumsum(self.counts)
        below = self._order_statistic(cumulative, math.floor(rank))
        above = self._order_statistic(cumulative, math.ceil(rank))
        return below + (above - below) * (rank - math.floor(rank))

    def histogram(self, bins: int = 30, scale: float = 1.0) -> dict:
        """``bins`` equal-width bins over [min, max] (times ``scale``), counts re-binned from
        the log bins (each log bin's count goes to the bin holding its middle)."""
        if not self.n:
            return {"edges": [], "counts": []}
        lo, hi = self.low * scale, self.high * scale
        if hi <= lo:
            hi = lo + 1.0 if lo == 0 else lo * 1.001
        edges = np.linspace(lo, hi, bins + 1)
        used = np.flatnonzero(self.counts)
        middles = np.clip(np.array([self._value(b) for b in used]) * scale, lo, hi)
        counts, _ = np.histogram(middles, bins=edges, weights=self.counts[used])
        return {"edges": [float(e) for e in edges], "counts": [int(c) for c in counts]}


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
