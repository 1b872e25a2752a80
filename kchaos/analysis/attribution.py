"""Down time by cause (results.json ``attribution``): where the minutes per year come from.

The engine splits each quantity's down time by cause as it happens
(:mod:`kchaos.model.attribution`). Where the headline figure uses a control variate, the
part known exactly (quorum loss for the API; a covering domain down for a workload) is
what the simulation's causes of that part are scaled to, so the causes of one quantity add
up to its headline downtime. Each cause carries a 95% interval from the same estimator as
the availabilities, on its own down seconds.
"""

from __future__ import annotations

import numpy as np

from ..model.sketch import EpisodeSums
from .statistics import MINUTES_PER_YEAR, Interval, unavailability_interval

#: The cause named when the exactly known part was not drawn in this run at all.
EXACT_NOT_DRAWN = {"api": "quorum loss (exact; not drawn in this run)",
                   "workload": "outage of a domain that alone takes it down (exact; not drawn in this run)"}


def _cause_intervals(books, seconds: np.ndarray) -> dict[tuple[str, bool], Interval]:
    """Per cause, its unavailability interval over the histories (``books``: one CauseBook each,
    whose sums are weighted cycle by cycle: ratio 1 when plain)."""
    keys = sorted({key for book in books if book is not None for key in book.sums})
    out = {}
    for key in keys:
        parts = [book.sums.get(key) if book is not None else None for book in books]
        total = sum(p.total for p in parts if p is not None)
        sums = EpisodeSums(sum(p.cycles for p in parts if p is not None), total,
                           sum(p.squares for p in parts if p is not None),
                           max((p.largest for p in parts if p is not None), default=0.0))
        per_history = np.array([p.total if p is not None else 0.0 for p in parts])
        out[key] = unavailability_interval(sums, per_history, seconds, 0.0)
    return out


def _rows(intervals: dict[tuple[str, bool], Interval], exact: float | None, kind: str) -> list[dict]:
    """One row per cause label; the exactly known causes scaled to ``exact`` (None: no control variate)."""
    known = {k: iv for k, iv in intervals.items() if k[1]}
    scale = 1.0
    rows: dict[str, list[float]] = {}
    if exact is not None:
        simulated = sum(iv.estimate for iv in known.values())
        scale = exact / simulated if simulated > 0 else 0.0
        if simulated <= 0 and exact > 0:
            rows[EXACT_NOT_DRAWN[kind]] = [exact, exact, exact]
    for (label, is_known), iv in intervals.items():
        f = scale if (is_known and exact is not None) else 1.0
        row = rows.setdefault(label, [0.0, 0.0, 0.0])
        row[0] += iv.estimate * f
        row[1] += iv.low * f
        row[2] += iv.high * f
    out = [{"cause": label, "minutes_per_year": round(v[0] * MINUTES_PER_YEAR, 4),
            "ci95": [round(v[1] * MINUTES_PER_YEAR, 4), round(v[2] * MINUTES_PER_YEAR, 4)]}
           for label, v in rows.items()]
    return sorted((r for r in out if r["ci95"][1] > 0), key=lambda r: -r["minutes_per_year"])


def attribution(out, seconds: np.ndarray, api_exact: float | None, workload_exact: list[float | None]) -> dict:
    """``{"api": [rows], "workloads": {name: [rows]}}``; ``api_exact`` and ``workload_exact``
    are the exactly known unavailabilities the headline figures use (None: plain Monte Carlo)."""
    api = _rows(_cause_intervals([h.api.causes for h in out.histories], seconds), api_exact, "api")
    workloads = {}
    for w, wl in enumerate(out.cluster.workloads):
        ivs = _cause_intervals([h.workloads[w].causes for h in out.histories], seconds)
        workloads[wl.name] = _rows(ivs, workload_exact[w], "workload")
    return {"api": api, "workloads": workloads}
