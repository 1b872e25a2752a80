"""Regenerative cycles of a history, and the sums kept per cycle.

A cycle runs from a failure that strikes a fully-up cluster to the next one. Every history
is cut into cycles (plain ones too): an importance-sampled cycle carries its likelihood
ratio (:mod:`.rare`), a plain one ratio 1. What a quantity accrues in a cycle (down
seconds, say) is summed times the ratio, with the sum of squares of those parts (the
regenerative variance) and, per failure instance that failed in the cycle, the part that
instance shared in. That last sum answers "what if this domain never failed?" from the
same histories: the cycles it failed in drop out, and the others gain the ratio
exp(rate x cycle length) of not failing (see :mod:`kchaos.analysis.importance`).
"""

from __future__ import annotations

from bisect import bisect_right
from dataclasses import dataclass, field

import numpy as np


class CycleClock:
    """The cycles of one history: where each starts, its ratio, its length and the failure
    instances that failed in it; which cycle an instant falls in, and how a stretch splits."""

    def __init__(self, starts: np.ndarray, weights: np.ndarray, horizon: float, failed: list[tuple[int, ...]]):
        self.starts = starts.tolist()
        self.weights = weights.tolist()
        edges = [0.0, *self.starts, horizon]
        self.lengths = [b - a for a, b in zip(edges, edges[1:])]
        self.failed = failed

    @classmethod
    def of(cls, history) -> "CycleClock":
        starts, weights = history.cycles()
        cycle_of = np.searchsorted(starts, history.times[history.down], side="right")
        failed: list[list[int]] = [[] for _ in range(len(weights))]
        for k, d in zip(cycle_of.tolist(), history.domains[history.down].tolist()):
            if d not in failed[k]:
                failed[k].append(d)
        return cls(starts, weights, history.horizon, [tuple(f) for f in failed])

    def weight_at(self, t: float) -> float:
        return self.weights[bisect_right(self.starts, t)]

    def pieces(self, a: float, b: float):
        """(cycle, seconds) of the stretch [a, b], cycle by cycle."""
        k = bisect_right(self.starts, a)
        while True:
            end = self.starts[k] if k < len(self.starts) else b
            if end >= b:
                yield k, b - a
                return
            if end > a:
                yield k, end - a
            a, k = end, k + 1

    def weighted(self, a: float, b: float) -> float:
        """The stretch [a, b] in seconds, each piece times its cycle's ratio."""
        return sum(s * self.weights[k] for k, s in self.pieces(a, b))

    def domain_time(self) -> tuple[dict[int, tuple[float, float, float]], tuple[float, float]]:
        """Per failure instance, the weighted sums of the lengths, squared lengths and cubed
        lengths of the cycles it failed in; and the squared and cubed sums over every cycle."""
        per: dict[int, tuple[float, float, float]] = {}
        squares = cubes = 0.0
        for w, t, failed in zip(self.weights, self.lengths, self.failed):
            t2 = w * t * t
            squares += t2
            cubes += t2 * t
            for d in failed:
                a, b, c = per.get(d, (0.0, 0.0, 0.0))
                per[d] = (a + w * t, b + t2, c + t2 * t)
        return per, (squares, cubes)


@dataclass
class CycleSums:
    """A quantity summed cycle by cycle, each cycle's part times its ratio: the sum, the sum of
    squares of the parts, the largest part, how many cycles had one and their ratios' sum;
    ``total_t``/``total_t2``: the parts times their cycle's length (squared) over all cycles;
    ``by_domain*``: the same three sums per failure instance, over the cycles it failed in."""

    total: float = 0.0
    squares: float = 0.0
    largest: float = 0.0
    cycles: int = 0
    weight_sum: float = 0.0
    weight_squares: float = 0.0  # of the ratios of the cycles with a part: their effective number
    overlap_cycles: int = 0  # the cycles with a part in which two failure instances or more failed
    overlap_weight_sum: float = 0.0  # and their ratios' sum
    total_t: float = 0.0
    total_t2: float = 0.0
    by_domain: dict = field(default_factory=dict)
    by_domain_t: dict = field(default_factory=dict)
    by_domain_t2: dict = field(default_factory=dict)
    cycle: int = -1
    part: float = 0.0

    def add(self, clock: CycleClock, a: float, b: float, rate: float = 1.0) -> None:
        for k, seconds in clock.pieces(a, b):
            if k != self.cycle:
                self.flush(clock)
                self.cycle = k
            self.part += seconds * rate

    def less(self, others: list["CycleSums"]) -> "CycleSums":
        """These sums less ``others``' (a part of the same quantity, such as one cause's down
        time): the totals and the per-domain sums that the importance estimate reads."""
        out = CycleSums(total=self.total - sum(o.total for o in others),
                        total_t=self.total_t - sum(o.total_t for o in others),
                        total_t2=self.total_t2 - sum(o.total_t2 for o in others))
        for name in ("by_domain", "by_domain_t", "by_domain_t2"):
            per = dict(getattr(self, name))
            for o in others:
                for d, x in getattr(o, name).items():
                    per[d] = per.get(d, 0.0) - x
            setattr(out, name, per)
        return out

    def flush(self, clock: CycleClock) -> None:
        if self.part:
            k = self.cycle
            x = self.part * clock.weights[k]
            xt = x * clock.lengths[k]
            xt2 = xt * clock.lengths[k]
            self.total += x
            self.squares += x * x
            self.total_t += xt
            self.total_t2 += xt2
            if x > self.largest:
                self.largest = x
            self.cycles += 1
            self.weight_sum += clock.weights[k]
            self.weight_squares += clock.weights[k] ** 2
            if len(clock.failed[k]) >= 2:
                self.overlap_cycles += 1
                self.overlap_weight_sum += clock.weights[k]
            for d in clock.failed[k]:
                self.by_domain[d] = self.by_domain.get(d, 0.0) + x
                self.by_domain_t[d] = self.by_domain_t.get(d, 0.0) + xt
                self.by_domain_t2[d] = self.by_domain_t2.get(d, 0.0) + xt2
        self.part = 0.0


class CauseBook:
    """A quantity's down time split by cause: the cause now (set once per instant by the
    engine's :class:`~.attribution.Attribution`) and, per cause, the cycle-weighted sums.
    A cause is (label, exact?): whether the analysis knows that down time exactly (quorum
    loss; a workload's covering domain down), so it can be scaled to the exact figure."""

    __slots__ = ("cause", "since", "sums")

    def __init__(self):
        self.cause: tuple[str, bool] | None = None
        self.since = 0.0
        self.sums: dict[tuple[str, bool], CycleSums] = {}

    def switch(self, clock: CycleClock, t: float, cause: tuple[str, bool] | None) -> None:
        if cause == self.cause:
            return
        self.close(clock, t)
        self.cause, self.since = cause, t

    def close(self, clock: CycleClock, t: float) -> None:
        if self.cause is not None and t > self.since:
            sums = self.sums.get(self.cause)
            if sums is None:
                sums = self.sums[self.cause] = CycleSums()
            sums.add(clock, self.since, t)
        self.cause = None

    def finish(self, clock: CycleClock) -> None:
        for sums in self.sums.values():
            sums.flush(clock)
