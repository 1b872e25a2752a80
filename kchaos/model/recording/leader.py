"""The API's election control variate, kept cycle by cycle while a history plays.

Most of the API's down time while a quorum holds is the write gap of the elections that
follow a failure of the leader's node (or of a server, rack, datacenter or region above it).
How often that happens is known from the failure rates: while member ``m`` leads, failures
strike its chain at the rate ``hazard[m]`` (the sum of 1/mean time to failure over its node
and the domains above it: exponential times to failure, whose hazard does not depend on age).
So ``N - A``, the leader's failures ``N`` less ``A``, the integral of the leading member's
hazard over the time a leader leads, is a martingale: its expectation is zero over any stretch
ending at a stopping time (a cycle's end, the horizon), whatever the leader's identity, and,
each cycle times its likelihood ratio, under importance sampling too.

:class:`LeaderControl` sums, cycle by cycle, ``Y = X - beta (N - A)`` where ``X`` is the API's
down time while a quorum holds: ``E[Y] = E[X]`` for any fixed ``beta``, and with ``beta`` the
model's mean election gap (:func:`mean_election_gap`) each election contributes only its gap's
deviation from the mean (a coefficient of variation of about 0.16) where it contributed the
whole gap. The analysis estimates the API's simulated part from ``Y``.
"""

from __future__ import annotations

from bisect import bisect_right
from dataclasses import dataclass

import numpy as np

from ..cluster_model import ClusterModel
from .cycles import CycleClock


def mean_election_gap(model: ClusterModel) -> float | None:
    """Mean write gap after losing the leader with all other members up, from the election
    model itself (2,000 draws, fixed seed): the same number in every process and history."""
    cached = getattr(model, "_mean_election_gap", False)
    if cached is not False:
        return cached
    n = len(model.member_nodes)
    gap = None
    if n >= 2 and n - 1 >= model.quorum:
        rng = np.random.default_rng(12345)
        live = tuple(range(1, n))
        gap = float(np.mean([model.election.sample(rng, live, "leader-lost")[0] for _ in range(2000)]))
    model._mean_election_gap = gap
    return gap


def _exponential(spec) -> bool:
    d = spec.ttf
    return d.kind == "exponential" or (d.kind == "weibull" and d.shape == 1.0)


def leader_hazards(model: ClusterModel) -> tuple[float, ...] | None:
    """Per member, the rate (per second) at which failures strike its node or a domain above
    it while they are all up; None when some such kind's time to failure is not exponential
    (its hazard then depends on the instance's age, which the control does not track)."""
    c = model.cluster
    out = []
    for node_index in model.member_nodes:
        node = c.nodes[node_index]
        rate = 0.0
        for d in (node.domain, *node.ancestors):
            spec = c.failure_spec(c.domains[d])
            if spec is None:
                continue
            if not _exponential(spec):
                return None
            rate += 1.0 / spec.ttf.mean
        out.append(rate)
    return tuple(out)


def control_parameters(model: ClusterModel) -> tuple[float, tuple[float, ...]] | None:
    """(beta, per-member hazards) of the election control, or None where it does not apply
    (fewer than two members, or times to failure that are not exponential)."""
    cached = getattr(model, "_leader_control", False)
    if cached is not False:
        return cached
    hazards = leader_hazards(model)
    beta = mean_election_gap(model) if hazards is not None else None
    model._leader_control = (beta, hazards) if beta is not None and hazards is not None else None
    return model._leader_control


@dataclass(frozen=True)
class ControlSums:
    """One history's ``Y``, cycle by cycle (``x_k``: a cycle's part times its ratio; ``u_k``:
    its length times its ratio): the sum of the parts, of their squares, of ``x_k u_k`` and of
    ``u_k^2`` over every cycle. ``Y`` accrues in every cycle (the hazard's integral), so its
    regenerative variance is that of ``x_k - r u_k`` about the ratio ``r`` (:meth:`variance`),
    not the parts' squares alone."""

    total: float
    squares: float
    cross: float
    lengths2: float
    largest: float

    @staticmethod
    def of(parts) -> "ControlSums":
        """The sums of several histories."""
        parts = list(parts)
        return ControlSums(sum(p.total for p in parts), sum(p.squares for p in parts), sum(p.cross for p in parts),
                           sum(p.lengths2 for p in parts), max((p.largest for p in parts), default=0.0))

    def merge(self, other: "ControlSums") -> "ControlSums":
        return ControlSums(self.total + other.total, self.squares + other.squares, self.cross + other.cross,
                           self.lengths2 + other.lengths2, max(self.largest, other.largest))

    def variance(self, ratio: float) -> float:
        return max(0.0, self.squares - 2.0 * ratio * self.cross + ratio * ratio * self.lengths2)


class LeaderControl:
    """``Y = X - beta (N - A)`` summed cycle by cycle (the module's docstring): the API down
    while a quorum holds (rate 1), plus ``beta`` times the leading member's hazard while one
    leads, less ``beta`` at each failure of the leader's chain."""

    __slots__ = ("clock", "beta", "hazards", "api_down", "hazard", "since", "parts")

    def __init__(self, clock: CycleClock, beta: float, hazards: tuple[float, ...]):
        self.clock, self.beta, self.hazards = clock, beta, hazards
        self.api_down = False
        self.hazard = 0.0
        self.since = 0.0
        self.parts: dict[int, float] = {}

    def _advance(self, t: float) -> None:
        rate = (1.0 if self.api_down else 0.0) + self.beta * self.hazard
        if rate and t > self.since:
            parts = self.parts
            for k, seconds in self.clock.pieces(self.since, t):
                parts[k] = parts.get(k, 0.0) + seconds * rate
        self.since = t

    def api(self, t: float, down: bool) -> None:
        if down != self.api_down:
            self._advance(t)
            self.api_down = down

    def leader(self, t: float, member: int) -> None:
        """``member`` leads from ``t`` on (-1: nobody)."""
        hazard = self.hazards[member] if member >= 0 else 0.0
        if hazard != self.hazard:
            self._advance(t)
            self.hazard = hazard

    def leader_failed(self, t: float) -> None:
        """A failure struck the leading member's node or a domain above it at ``t``."""
        self._advance(t)
        k = bisect_right(self.clock.starts, t)
        self.parts[k] = self.parts.get(k, 0.0) - self.beta

    def close(self, t: float) -> ControlSums:
        """The sums up to the horizon ``t`` (:class:`ControlSums`)."""
        self._advance(t)
        parts = self.parts
        total = squares = cross = lengths2 = largest = 0.0
        for k, (w, length) in enumerate(zip(self.clock.weights, self.clock.lengths)):
            u = w * length
            lengths2 += u * u
            x = parts.get(k, 0.0) * w
            if x:
                total += x
                squares += x * x
                cross += x * u
                largest = max(largest, x)
        return ControlSums(total, squares, cross, lengths2, largest)
