"""Down time by cause (results.json ``attribution``): where the minutes per year come from.

The engine splits each quantity's down time by cause as it happens
(:mod:`kchaos.model.recording.attribution`). Where the headline figure uses a control variate, the
part known exactly (quorum loss for the API; a covering domain down for a workload) is
what the simulation's causes of that part are scaled to, so the causes of one quantity add
up to its headline downtime. Each cause carries a 95% interval from the same estimator as
the availabilities, on its own down seconds.
"""

from __future__ import annotations

import numpy as np

from ..model.recording.attribution import outage
from ..model.recording.sketch import EpisodeSums
from .statistics import MINUTES_PER_YEAR, Interval, unavailability_interval

#: The cause named when the exactly known overlaps were not drawn in this run at all.
EXACT_NOT_DRAWN = {"api": "quorum loss: overlapping failures (exact; not drawn in this run)",
                   "workload": "overlapping outages of domains that each take it down (exact; not drawn in this run)"}


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


def _scaled(iv: Interval, f: float, alone: bool, exact: float) -> list[float]:
    if alone:  # the only cause of that part: its figure is the exact one
        return [exact, exact, exact]
    return [iv.estimate * f, min(iv.low * f, exact), min(iv.high * f, exact)]


def _rows(intervals: dict[tuple[str, bool], Interval], exact: float | None, singles: dict[str, float],
          claims: tuple[str, ...], kind: str, simulated_scale: float = 1.0) -> list[dict]:
    """One row per cause label. With a control variate (``exact`` not None), the exactly known
    part is split as the headline knows it: each domain that alone causes the outage gives its
    exact unavailability to the cause of its own settled response (``singles``: label ->
    unavailability; scaled down together when their overlaps make the sum exceed ``exact``),
    whether or not this run drew it; the simulated causes of such lone outages (labels starting
    with one of ``claims``) are replaced by them, and what is left of the exact part (overlaps)
    goes to the simulated overlapping causes. ``simulated_scale``: the simulated causes are scaled
    by it, so that they add up to a headline whose simulated part has its own estimator (the
    API's election control)."""
    rows: dict[str, list[float]] = {}

    def add(label: str, values: list[float]) -> None:
        row = rows.setdefault(label, [0.0, 0.0, 0.0])
        for i, v in enumerate(values):
            row[i] += v

    known = {label: iv for (label, is_known), iv in intervals.items() if is_known}
    for (label, is_known), iv in intervals.items():
        if not is_known or exact is None:
            add(label, [iv.estimate * simulated_scale, iv.low * simulated_scale, iv.high * simulated_scale])
    if exact is not None:
        single_total = sum(singles.values())
        rest = max(0.0, exact - single_total)
        shrink = min(1.0, exact / single_total) if single_total > 0 else 1.0
        for label, e in singles.items():
            if e > 0:
                add(label, [e * shrink] * 3)
        others = {label: iv for label, iv in known.items() if not label.startswith(claims)}
        simulated = sum(iv.estimate for iv in others.values())
        if simulated > 0:
            for label, iv in others.items():
                add(label, _scaled(iv, rest / simulated, len(others) == 1, rest))
        elif rest > 0:
            add(EXACT_NOT_DRAWN[kind], [rest, rest, rest])
    out = [{"cause": label, "minutes_per_year": round(v[0] * MINUTES_PER_YEAR, 4),
            "ci95": [round(v[1] * MINUTES_PER_YEAR, 4), round(v[2] * MINUTES_PER_YEAR, 4)]}
           for label, v in rows.items()]
    return sorted((r for r in out if r["ci95"][1] > 0), key=lambda r: -r["minutes_per_year"])


def _singles(cluster, domains, cause_of) -> tuple[dict[str, float], tuple[str, ...]]:
    """The exact part's split: cause label -> summed unavailability of the ``domains`` whose
    settled response ``cause_of(domain)`` names it, and the label prefixes of lone outages of
    their kinds (the simulated causes those exact figures replace)."""
    out: dict[str, float] = {}
    kinds: set[str] = set()
    for d in domains:
        kind = cluster.domains[d].kind
        kinds.add(kind)
        label = cause_of(d)
        out[label] = out.get(label, 0.0) + cluster.failures[kind].unavailability
    return out, tuple(sorted(kinds))


def attribution(out, seconds: np.ndarray, api_exact: float | None, quorum_losers: list[int],
                workload_exact: list[float | None], covers: list[list[int] | None], blast=None,
                drift: list[dict[int, float]] | None = None, api_scale: float = 1.0) -> dict:
    """``{"api": [rows], "workloads": {name: [rows]}}``. ``api_exact`` and ``workload_exact``:
    the exactly known unavailabilities the headline figures use (None: plain Monte Carlo);
    ``quorum_losers``: the domains whose failure alone loses quorum; ``covers``: per workload,
    the domains whose failure alone takes it down; ``blast``: their settled responses (the
    run's own when None), which name each such domain's cause; ``drift``: per workload and
    covering domain, the share of time it was down with the workload up (pods that drifted
    away), which that domain's exact share gives back, as the headline does; ``api_scale``: what
    the API's simulated causes are scaled by (the election control's estimate over the down
    time measured)."""
    c = out.cluster
    blast = blast or out.model.blast
    singles, kinds = _singles(c, quorum_losers, lambda d: f"quorum loss: {outage(c.domains[d].kind)}")
    api = _rows(_cause_intervals([h.api.causes for h in out.histories], seconds), api_exact,
                singles, tuple(f"quorum loss: {outage(k)}" for k in kinds), "api", api_scale)
    workloads = {}
    for w, wl in enumerate(c.workloads):
        ivs = _cause_intervals([h.workloads[w].causes for h in out.histories], seconds)

        def cause_of(d: int, name: str = wl.name) -> str:
            mechanism = blast.respond([d]).workload_causes.get(name, "recovery chain")
            return f"{outage(c.domains[d].kind)}: {mechanism}"

        singles, kinds = _singles(c, covers[w] or [], cause_of)
        for d, share in (drift[w] if drift else {}).items():
            if d >= 0 and cause_of(d) in singles:
                singles[cause_of(d)] = max(0.0, singles[cause_of(d)] - share)
        workloads[wl.name] = _rows(ivs, workload_exact[w], singles, tuple(f"{outage(k)}:" for k in kinds),
                                   "workload")
    return {"api": api, "workloads": workloads}
