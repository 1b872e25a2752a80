"""What a plan must meet, judged two ways: screened (exact and settled figures, no histories)
and verified (the Monte Carlo, as ``kchaos check`` judges it).

The screen is a necessary condition, never an estimate: a layout that fails it misses the
target whatever the histories say. ``fits`` (every pod placed with every node up) and the
``survive`` levels are decided exactly; the API cannot be more available than its exact
quorum availability; a workload cannot be more available than its covering domains (those
whose loss alone keeps it below ``minAvailable``) allow, which is also known exactly.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

from ..analysis.statistics import MINUTES_PER_YEAR
from ..model.scheduling.response import workload_cover
from .layout import Layout


@dataclass(frozen=True)
class Verdict:
    target: str  # fits | survive.<level> | controlPlane | workloads.<name> | maxNodeUtilization | maxPendingPods
    met: bool
    how: str  # settled | exact | simulated
    detail: str = ""
    confirmed: bool = True  # simulated: the target lies outside the 95% interval

    def as_dict(self) -> dict:
        return {"target": self.target, "met": self.met, "how": self.how, "detail": self.detail,
                "confirmed": self.confirmed}


def screen(layout: Layout) -> list[Verdict]:
    """The deterministic verdicts of ``layout`` (cheap: settles and closed forms)."""
    c = layout.cluster
    out = []
    pending = layout.healthy_pending()
    out.append(Verdict("fits", not pending, "settled",
                       "every pod placed with every node up" if not pending else
                       f"{sum(pending.values())} pods fit nowhere with every node up ("
                       + ", ".join(f"{k} {v}" for k, v in pending.items()) + ")"))
    for level in c.slo.survive:
        verdicts = layout.verdicts(level)
        bad = [v for v in verdicts if not v.survived]
        detail = (f"every {level} loss settles within the targets" if not bad else
                  "; ".join(f"losing {v.domain}: {', '.join(v.reasons)}" for v in bad[:2])
                  + (f"; and {len(bad) - 2} more {level} loss{'es' if len(bad) > 3 else ''}" if len(bad) > 2 else ""))
        out.append(Verdict(f"survive.{level}", not bad, "settled", detail))
    if c.slo.control_plane is not None:
        qa = layout.quorum_exact
        if qa is not None:
            ok = qa >= c.slo.control_plane
            out.append(Verdict("controlPlane", ok, "exact",
                               f"exact quorum availability {100 * qa:.5g}% ({(1 - qa) * MINUTES_PER_YEAR:.3g} "
                               f"min/year), {'at or above' if ok else 'below'} the target: the API cannot be "
                               "more available"))
    if c.slo.workloads:
        covered = covered_unavailability(layout)
        for name, target in c.slo.workloads.items():
            u = covered.get(name, 0.0)
            if u > 0:
                out.append(Verdict(f"workloads.{name}", u <= 1 - target, "exact",
                                   f"domains whose loss alone keeps it below minAvailable cost "
                                   f"{u * MINUTES_PER_YEAR:.3g} min/year exactly, the target allows "
                                   f"{(1 - target) * MINUTES_PER_YEAR:.3g}"))
    return out


def covered_unavailability(layout: Layout) -> dict[str, float]:
    """Per workload: the exact share of time some domain that alone keeps it below
    ``minAvailable`` is down (domains fail independently)."""
    c = layout.cluster
    up: dict[str, float] = {}
    for d, workloads in workload_cover(layout.blast).items():
        u = c.failures[c.domains[d].kind].unavailability
        for w in workloads:
            name = c.workloads[w].name
            up[name] = up.get(name, 1.0) * (1.0 - u)
    return {name: 1.0 - x for name, x in up.items()}


def percent(x: float) -> str:
    """An availability in percent with the digits that tell its nines apart (99.99998%)."""
    if x >= 1.0:
        return "100%"
    decimals = max(1, math.ceil(-math.log10(1.0 - x)) - 1)
    return f"{100 * x:.{decimals}f}%"


def simulated(results: dict) -> list[Verdict]:
    """The verdicts ``kchaos check`` would give on these results (survive levels included)."""
    out = []
    for ch in results["slo"]["checks"]:
        if ch["name"].startswith("survive."):
            out.append(Verdict(ch["name"], ch["passed"], "settled", ch.get("detail", "")))
            continue
        est, ci = ch["estimate"], ch.get("ci95")
        if ch["name"] == "maxNodeUtilization":
            detail = f"p95 hottest node {100 * est:.0f}% (limit {100 * ch['target']:.0f}%)"
        elif ch["name"] == "maxPendingPods":
            detail = f"at most {est} pods Pending at once (limit {ch['target']})"
        else:
            detail = (f"{percent(est)} [{percent(ci[0])} – {percent(ci[1])}], target {percent(ch['target'])}"
                      if ci else f"{est}")
        confirmed = ch.get("confirmed", True)
        if not confirmed:
            detail += " (not yet confirmed: the target lies inside the interval)"
        out.append(Verdict(ch["name"], ch["passed"], "simulated", detail, confirmed))
    return out


def missed(verdicts: list[Verdict]) -> list[Verdict]:
    return [v for v in verdicts if not v.met]


def unsure(verdicts: list[Verdict]) -> list[Verdict]:
    """Missed, or met by the estimate with the target inside its interval: what a plan
    without some move must not be, for the move to be dropped."""
    return [v for v in verdicts if not v.met or not v.confirmed]


def first_miss(verdicts: list[Verdict]) -> str:
    """One line naming the first target missed, or else not confirmed (for 'one fewer misses ...')."""
    bad = missed(verdicts) or unsure(verdicts)
    return f"{bad[0].target}: {bad[0].detail}" if bad else ""
