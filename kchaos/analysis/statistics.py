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
from scipy import stats

Z95 = 1.959963984540054
MINUTES_PER_YEAR = 525_600.0
SECONDS_PER_YEAR = 365 * 86400.0


@dataclass(frozen=True)
class Interval:
    estimate: float
    low: float
    high: float

    def as_availability(self) -> "Interval":
        return Interval(1.0 - self.estimate, 1.0 - self.high, 1.0 - self.low)


def _chi2(p: float, dof: float) -> float:
    return float(stats.gamma.ppf(p, dof / 2.0, scale=2.0))


def unavailability_interval(durations: list[float] | np.ndarray, down_per_history: np.ndarray,
                            time_per_history: np.ndarray, typical_episode: float) -> Interval:
    """Fraction of time down, with a 95% interval.

    ``durations``: every down episode (seconds); ``down_per_history`` and
    ``time_per_history``: per-history totals. ``typical_episode`` is the length of
    the longest episode the model can plausibly produce (the longest mean repair):
    the upper bound allows for one more episode at least that long, so a rare
    long outage that this run happened not to draw still lies inside the interval.
    """
    total_time = float(np.sum(time_per_history))
    if total_time <= 0:
        return Interval(0.0, 0.0, 1.0)
    d = np.asarray(durations, dtype=float)
    y = float(d.sum())
    v = float(np.sum(d * d))
    k = len(time_per_history)
    estimate = y / total_time
    if k >= 10 and y > 0:
        resid = np.asarray(down_per_history) - estimate * np.asarray(time_per_history)
        v = max(v, k / (k - 1) * float(np.sum(resid * resid)))
    w_max = max(float(d.max()) if d.size else 0.0, float(typical_episode))
    if y > 0:
        low = v / (2 * y) * _chi2(0.025, 2 * y * y / v)
    else:
        low = 0.0
    v_up = v + w_max * w_max
    y_up = y + w_max
    high = v_up / (2 * y_up) * _chi2(0.975, 2 * y_up * y_up / v_up)
    return Interval(estimate, max(0.0, low / total_time), min(1.0, high / total_time))


def confirm_failures(interval: Interval, target_unavailability: float, failures: int) -> int | None:
    """Failures needed for the interval to exclude the target, assuming the estimate holds
    and the width shrinks as 1/sqrt(failures). None when the estimate (nearly) equals the target."""
    est = interval.estimate
    gap = abs(est - target_unavailability)
    if gap <= 0:
        return None
    half = (interval.high - interval.low) / 2.0
    if half <= 0:
        return failures
    factor = (half / gap) ** 2
    if factor > 1e4:  # the estimate sits on the target: no practical run would settle it
        return None
    return int(np.ceil(failures * max(1.0, factor) * 1.1))


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
