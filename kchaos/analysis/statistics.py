"""Statistics over simulated histories: estimates with honest 95% intervals.

Unavailability is a ratio: down seconds over simulated seconds. Down time
arrives in episodes, so its sum behaves like a compound Poisson count; the
interval is Fay & Feuer's gamma interval for weighted Poisson sums
(Statistics in Medicine 16:791, 1997), which stays honest with few or no
episodes, with its variance raised to the between-history (batch-means)
variance when that is larger, so clustered episodes do not make it too narrow.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
from scipy.special import gammaincinv  # scipy.stats would add half a second to every start

from ..model.recording.sketch import EpisodeSums

Z95 = 1.959963984540054
MINUTES_PER_YEAR = 525_600.0
SECONDS_PER_YEAR = 365 * 86400.0


@dataclass(frozen=True)
class PoissonBasis:
    """What an unavailability interval was computed from, so that it can be projected to a
    longer run: down seconds ``y``, its variance ``v``, the longest plausible episode and the
    simulated seconds. In a run ``s`` times longer, ``y``, ``v`` and the time grow by ``s``;
    the one-more-episode allowance does not."""

    down: float
    variance: float
    longest_episode: float
    seconds: float

    def interval(self, scale: float = 1.0, offset: float = 0.0) -> "Interval":
        y, v, t = self.down * scale, self.variance * scale, self.seconds * scale
        w = self.longest_episode
        low = v / (2 * y) * _chi2(0.025, 2 * y * y / v) if y > 0 else 0.0
        v_up, y_up = v + w * w, y + w
        high = v_up / (2 * y_up) * _chi2(0.975, 2 * y_up * y_up / v_up) if y_up > 0 else 0.0
        return Interval(min(1.0, offset + y / t), min(1.0, offset + max(0.0, low / t)),
                        min(1.0, offset + high / t), self, offset)


@dataclass(frozen=True)
class Interval:
    """An unavailability estimate with its 95% interval. ``basis`` (when simulated) and
    ``offset`` (an exactly known part added by a control variate) allow projecting it."""

    estimate: float
    low: float
    high: float
    basis: PoissonBasis | None = None
    offset: float = 0.0

    def as_availability(self) -> "Interval":
        return Interval(1.0 - self.estimate, 1.0 - self.high, 1.0 - self.low)

    def shifted(self, exact: float) -> "Interval":
        """This simulated remainder plus an exactly known unavailability."""
        if self.basis is not None:
            return self.basis.interval(1.0, self.offset + exact)
        return Interval(min(1.0, exact + self.estimate), min(1.0, exact + self.low), min(1.0, exact + self.high))

    def projected(self, scale: float) -> "Interval":
        """The interval a run ``scale`` times longer would give if the estimate held."""
        return self.basis.interval(scale, self.offset) if self.basis is not None else self


def episode_sums(episodes, weighted: bool = False) -> EpisodeSums:
    """The episodes' sums over histories; importance-sampled: the cycle-weighted down time
    (sum, sum of squares of each cycle's weighted part, the largest part), episodes counted as seen."""
    total = EpisodeSums()
    for eps in episodes:
        if weighted:
            ws = eps.weighted
            part = EpisodeSums(eps.sums.count, ws.total, ws.squares, ws.largest) if ws is not None \
                else EpisodeSums(eps.sums.count)
        else:
            part = eps.sums
        total = total.merge(part)
    return total


def down_seconds(eps, weighted: bool) -> float:
    """One history's down seconds of one quantity (cycle-weighted when importance-sampled)."""
    if not weighted:
        return eps.total
    return eps.weighted.total if eps.weighted is not None else 0.0


def _chi2(p: float, dof: float) -> float:
    """The p-quantile of a chi-square with ``dof`` (not necessarily whole) degrees of freedom."""
    return 2.0 * float(gammaincinv(dof / 2.0, p))


def unavailability_interval(episodes: EpisodeSums, down_per_history: np.ndarray,
                            time_per_history: np.ndarray, typical_episode: float) -> Interval:
    """Fraction of time down, with a 95% interval.

    ``episodes``: the down episodes' count, total, sum of squares and longest (seconds);
    ``down_per_history`` and ``time_per_history``: per-history totals. ``typical_episode``
    is the length of the longest episode the model can plausibly produce (the longest mean
    repair): the upper bound allows for one more episode at least that long, so a rare
    long outage that this run happened not to draw still lies inside the interval.
    """
    total_time = float(np.sum(time_per_history))
    if total_time <= 0:
        return Interval(0.0, 0.0, 1.0)
    y, v = episodes.total, episodes.squares
    k = len(time_per_history)
    estimate = y / total_time
    if k >= 10 and y > 0:
        resid = np.asarray(down_per_history) - estimate * np.asarray(time_per_history)
        v = max(v, k / (k - 1) * float(np.sum(resid * resid)))
    w_max = max(episodes.longest, float(typical_episode))
    # Down from start to end of every history: nothing is uncertain. (Importance-sampled, the
    # down seconds and the time are sums of the same weighted cycles in another order: they
    # agree to the last bits only.)
    if y >= total_time * (1.0 - 1e-9):
        return Interval(1.0, 1.0, 1.0)
    return PoissonBasis(y, v, w_max, total_time).interval()


#: Beyond this many times the current run, confirming a target is not practical advice.
MAX_CONFIRM_SCALE = 1e4
#: The advice allows for the estimate of a longer run to move a little (a new run draws anew).
CONFIRM_MARGIN = 1.1


def confirm_failures(interval: Interval, target_unavailability: float, failures: int) -> int | None:
    """Failures after which the interval would exclude the target if the estimate held: the
    interval is recomputed for longer runs from what it was computed from (its two sides
    shrink at different rates: the upper one also carries one more plausible outage), and the
    smallest such run, with a 10% margin, is rounded up to two significant digits. None when no practical run
    would settle it (the estimate sits on the target) or the interval cannot be projected."""
    if interval.basis is None or interval.estimate == target_unavailability:
        return None
    passing = interval.estimate < target_unavailability

    def settles(scale: float) -> bool:
        iv = interval.projected(scale)
        return iv.high < target_unavailability if passing else iv.low > target_unavailability

    if settles(1.0):
        return failures
    lo, hi = 1.0, 2.0
    while not settles(hi):
        lo, hi = hi, hi * 2.0
        if hi > MAX_CONFIRM_SCALE:
            return None
    while hi / lo > 1.001:
        mid = (lo * hi) ** 0.5
        lo, hi = (lo, mid) if settles(mid) else (mid, hi)
    return _round_up(failures * hi * CONFIRM_MARGIN)


def _round_up(n: float) -> int:
    """Up to two significant digits: 12,340 -> 13,000."""
    digits = max(0, len(str(int(np.ceil(n)))) - 2)
    step = 10 ** digits
    return int(-(-np.ceil(n) // step) * step)


def quantiles(values, qs=(0.5, 0.95, 0.99)) -> dict[float, float]:
    arr = np.asarray(values, dtype=float)
    if arr.size == 0:
        return {q: None for q in qs}
    return {q: float(np.quantile(arr, q)) for q in qs}


def weighted_quantile(values: np.ndarray, weights: np.ndarray, q: float) -> float | None:
    if values.size == 0 or weights.sum() <= 0:
        return None
    order = np.argsort(values)
    v, w = values[order], weights[order]
    cum = np.cumsum(w) / w.sum()
    return float(v[min(np.searchsorted(cum, q), v.size - 1)])


def histogram(values, bins: int = 30, weights=None, value_range=None) -> dict:
    arr = np.asarray(values, dtype=float)
    if arr.size == 0:
        return {"edges": [], "counts": []}
    counts, edges = np.histogram(arr, bins=bins, weights=weights, range=value_range)
    return {"edges": [float(e) for e in edges], "counts": [float(c) if weights is not None else int(c)
                                                          for c in counts]}
