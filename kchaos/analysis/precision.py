"""Runs that stop when the answer is tight: ``--precision 10%`` and ``--time-budget 60s``.

The histories run in batches of fixed-length histories (each an independent replication, the
same whatever the batches or ``--jobs``); between batches, and only there, the headline
figures' 95% intervals are computed from every history so far. The run stops at the first
batch boundary where each watched figure is *settled*:

- its half-width is at most the relative precision of its estimate, or an absolute floor:
  0.01 min/year for the API (its downtime is a headline figure), 1e-7 of availability for a
  workload; or
- it had no simulated downtime at all: its upper bound is then the one outage the run may
  have missed, which only more failures shrink, in proportion to them (it is reported as
  such and does not hold the run); or
- with a target (``check``), the interval already decides the target.

A figure's interval is projected to longer runs (:meth:`.statistics.Interval.projected`), and
the next batch is sized to reach the precision with a margin, between 1.5 and 4 times the
histories so far: few looks, so the stopping rule hardly biases the estimates (tested over
seeds against an exact answer). The stopping point depends only on the histories, so the same
seed gives the same stopping point and the same results whatever ``--jobs``; a time budget
that runs out stops the run after the histories finished by then (no history starts later),
which depends on the machine.
"""

from __future__ import annotations

import math
import time
from dataclasses import dataclass
from typing import Callable

from ..errors import KchaosUsageError
from ..model.cluster import Cluster
from ..model.engine import ClusterModel
from ..model.sampling.montecarlo import TARGET_HISTORIES, Campaign, SimulationOutput, history_range
from .statistics import MINUTES_PER_YEAR, Interval
from .summary import summarize

#: Failures each history holds on average; the first batch is TARGET_HISTORIES of them, the
#: 10,000 failures of a default run.
FAILURES_PER_HISTORY = 250
#: Each batch brings the histories to between these multiples of those before it.
MIN_GROWTH, MAX_GROWTH = 1.5, 4.0
#: The next batch aims this much beyond where the projection says the figures are tight.
MARGIN = 1.2
#: Absolute floors of a figure's 95% half-width (as unavailability).
API_FLOOR = 0.01 / MINUTES_PER_YEAR  # 0.01 min/year of API downtime
AVAILABILITY_FLOOR = 1e-7
#: The time budget when none is given, and `check`'s default precision.
DEFAULT_TIME_BUDGET = 60.0
CHECK_PRECISION = 0.10

REACHED, NOT_REACHED, NO_DOWNTIME = "reached", "not reached", "no downtime observed"


@dataclass(frozen=True)
class Precision:
    """Run until every headline figure's 95% half-width is within ``relative`` of its estimate
    (or the absolute floor), or until ``time_budget`` seconds have passed."""

    relative: float
    time_budget: float | None = DEFAULT_TIME_BUDGET

    def __post_init__(self) -> None:
        if not 0.0 < self.relative < 1.0:
            raise KchaosUsageError(f"--precision must be between 0% and 100% (exclusive), got {self.relative:.4g}")
        if self.time_budget is not None and self.time_budget <= 0:
            raise KchaosUsageError(f"--time-budget must be longer than zero, got {self.time_budget:g} s")


def parse_precision(text: str) -> float:
    """``10%`` or ``0.1`` -> 0.1 (a usage error otherwise)."""
    raw = text.strip()
    try:
        value = float(raw[:-1]) / 100.0 if raw.endswith("%") else float(raw)
    except ValueError:
        raise KchaosUsageError(f"--precision {text}: expected a percentage such as 10% (or 0.1)") from None
    Precision(value)  # checks the range
    return value


def floor_of(name: str) -> float:
    return API_FLOOR if name == "controlPlane" else AVAILABILITY_FLOOR


def half_width(iv: Interval) -> float:
    return (iv.high - iv.low) / 2.0


def observed(iv: Interval) -> bool:
    """Some simulated downtime behind the interval (or none is simulated: an exact figure)."""
    return iv.basis is None or iv.basis.down > 0


def tight(iv: Interval, relative: float, floor: float) -> bool:
    return half_width(iv) <= max(relative * iv.estimate, floor) * (1 + 1e-9)


def decided(iv: Interval, target: float) -> bool:
    """The interval lies wholly on one side of an availability target."""
    return 1.0 - iv.high >= target or 1.0 - iv.low < target


def status(name: str, iv: Interval, relative: float) -> str:
    if tight(iv, relative, floor_of(name)):
        return REACHED
    return NOT_REACHED if observed(iv) else NO_DOWNTIME


def settled(name: str, iv: Interval, relative: float, target: float | None) -> bool:
    """Whether figure ``name`` no longer holds the run (see the module's docstring)."""
    if target is not None:
        return decided(iv, target) or tight(iv, relative, floor_of(name))
    return status(name, iv, relative) != NOT_REACHED


def scale_to_tight(iv: Interval, relative: float, floor: float) -> float | None:
    """How many times longer the run must be for ``iv`` to be tight, if its estimate held
    (None: it cannot be projected)."""
    if iv.basis is None:
        return None
    if tight(iv, relative, floor):
        return 1.0
    lo, hi = 1.0, 2.0
    while not tight(iv.projected(hi), relative, floor):
        lo, hi = hi, hi * 2.0
        if hi > 1e6:
            return None
    while hi / lo > 1.01:
        mid = math.sqrt(lo * hi)
        lo, hi = (lo, mid) if tight(iv.projected(mid), relative, floor) else (mid, hi)
    return hi


def next_total(histories: int, open_figures: list[tuple[str, Interval]], relative: float) -> int:
    """Histories after the next batch: where the projections say the open figures (name,
    interval) are tight, with a margin, between MIN_GROWTH and MAX_GROWTH times ``histories``."""
    scales = [scale_to_tight(iv, relative, floor_of(name)) for name, iv in open_figures]
    want = max((s for s in scales if s is not None), default=2.0) if all(s is not None for s in scales) \
        else MAX_GROWTH
    growth = min(MAX_GROWTH, max(MIN_GROWTH, MARGIN * want))
    return max(histories + 1, math.ceil(histories * growth))


def figures(out: SimulationOutput) -> dict[str, Interval]:
    """The headline intervals (unavailability): the API and every workload."""
    return summarize(out, intervals_only=True)[1]


def availability_targets(cluster: Cluster) -> dict[str, float]:
    """The availability targets of the ``slo`` section, by figure name."""
    targets = {f"workloads.{name}": t for name, t in cluster.slo.workloads.items()}
    if cluster.slo.control_plane is not None:
        targets["controlPlane"] = cluster.slo.control_plane
    return targets


@dataclass
class Stopping:
    """The stopping rule of one run (or of a comparison's variants together): ``targets`` (by
    figure name) make it watch only those figures, settled once their targets are decided."""

    precision: Precision
    targets: dict[str, float] | None = None

    def open_figures(self, intervals: dict[str, Interval]) -> dict[str, Interval]:
        watched = intervals if self.targets is None else {n: iv for n, iv in intervals.items() if n in self.targets}
        return {name: iv for name, iv in watched.items()
                if not settled(name, iv, self.precision.relative, (self.targets or {}).get(name))}


def precision_report(record: dict, intervals: dict[str, Interval]) -> dict:
    """The ``run.precision`` block of results.json: the rule, how the run ended, and each
    headline figure's half-width against it."""
    relative = record["relative"]
    rows = []
    for name, iv in intervals.items():
        half = half_width(iv)
        rows.append({"figure": name, "unavailability": iv.estimate, "half_width": half,
                     "relative_half_width": half / iv.estimate if iv.estimate > 0 else None,
                     "floor": floor_of(name), "status": status(name, iv, relative)})
    return {**record, "figures": rows, "reached": all(r["status"] != NOT_REACHED for r in rows)}


def _record(precision: Precision, targets: dict | None) -> dict:
    return {"relative": precision.relative, "time_budget_seconds": precision.time_budget,
            "failures_per_history": FAILURES_PER_HISTORY, "watched": "targets" if targets is not None else "all",
            "batches": [], "stopped_by": None}


def simulate_to_precision(cluster: Cluster, precision: Precision, seed: int = 1, jobs: int = 1,
                          model: ClusterModel | None = None, dask: str | None = None, sampling: str = "auto",
                          progress: Callable[[int], None] | None = None,
                          on_started: Callable[[], None] | None = None,
                          targets: dict[str, float] | None = None) -> SimulationOutput:
    """Simulate in batches until every headline figure is settled (see the module docstring)
    or the time budget is spent. ``targets``: watch only those figures (``check``: the
    availability targets, settled once decided). The output's ``stopping`` record says how the
    run ended (``analyze`` turns it into results.json's ``run.precision``)."""
    stopping = Stopping(precision, targets)
    record = _record(precision, targets)
    with Campaign(cluster, seed, jobs, model, dask, sampling, progress, on_started) as campaign:
        deadline = campaign.start + precision.time_budget if precision.time_budget is not None else None
        horizon = FAILURES_PER_HISTORY / campaign.sampler.failure_rate
        done, total = 0, TARGET_HISTORIES
        while True:
            finished = campaign.play(history_range(campaign.sampler, done, total, horizon, seed), total - done,
                                     deadline)
            done = len(campaign.results)
            record["batches"].append({"histories": done, "failures": campaign.done,
                                      "seconds": round(time.perf_counter() - campaign.start, 3)})
            if not finished:
                record["stopped_by"] = "interrupted" if campaign.partial else "time budget"
                break
            still_open = stopping.open_figures(figures(campaign.output(None)))
            if not still_open:
                record["stopped_by"] = "precision"
                break
            total = next_total(done, list(still_open.items()), precision.relative)
    out = campaign.output(None)
    out.stopping = record
    return out


def variants_to_precision(clusters: list[Cluster], precision: Precision, seed: int = 1, jobs: int = 1,
                          dask: str | None = None, sampling: str = "plain", horizon_rate: float | None = None,
                          progress: Callable[[int], None] | None = None) -> list[SimulationOutput]:
    """Variants of a comparison on shared streams, in rounds: each round brings every variant
    to the same histories (common random numbers), until every variant's headline figures are
    settled or the budget would run out. A round is never cut (the variants keep the same
    histories): it is sized to fit the time left, from the pace of the rounds before.
    ``horizon_rate``: failures per second that sizes the histories (their mean over the variants)."""
    stopping = Stopping(precision)
    record = _record(precision, None)
    campaigns: list[Campaign] = []
    start = time.perf_counter()
    try:
        for cluster in clusters:
            campaigns.append(Campaign(cluster, seed, jobs, None, dask, sampling))
        rate = horizon_rate or sum(c.sampler.failure_rate for c in campaigns) / len(campaigns)
        horizon = FAILURES_PER_HISTORY / rate
        done, total = 0, TARGET_HISTORIES
        while True:
            round_start = time.perf_counter()
            for campaign in campaigns:
                base = sum(c.done for c in campaigns)
                if progress:
                    campaign.progress = lambda n, base=base - campaign.done: progress(base + n)
                finished = campaign.play(history_range(campaign.sampler, done, total, horizon, seed), total - done)
                campaign.close()  # one variant's pool at a time
                if not finished:
                    break
            if any(c.partial for c in campaigns):
                record["stopped_by"] = "interrupted"
                break
            pace = (time.perf_counter() - round_start) / (total - done)  # seconds per history, all variants
            done = total
            record["batches"].append({"histories": done, "failures": sum(c.done for c in campaigns),
                                      "seconds": round(time.perf_counter() - start, 3)})
            still_open = [item for campaign in campaigns
                          for item in stopping.open_figures(figures(campaign.output(None))).items()]
            if not still_open:
                record["stopped_by"] = "precision"
                break
            total = next_total(done, still_open, precision.relative)
            if precision.time_budget is not None:
                left = start + precision.time_budget - time.perf_counter()
                total = min(total, done + int(left / pace))
                if total < done + max(1, done // 10):  # less than a tenth more fits: not worth a round
                    record["stopped_by"] = "time budget"
                    break
    finally:
        for campaign in campaigns:
            campaign.close()
    outputs = []
    for campaign in campaigns:
        out = campaign.output(None)
        out.stopping = dict(record)
        outputs.append(out)
    return outputs

