"""What a comparison concludes, in sentences the terminal and the page share.

The figures come from :func:`kchaos.analysis.compare.verdict` (which variant is most
available, by how much, and whether the difference is real on the shared histories).
"""

from __future__ import annotations

from kchaos.analysis.compare import verdict
from kchaos.report.formatting import availability_supported

#: Workloads named in the verdict; the rest are in the tables.
VERDICT_WORKLOADS = 5


def _difference(v: dict) -> str:
    minutes = v.get("minutes_less")
    if minutes is None:
        return ""
    if minutes == 0:
        return f", the same downtime as {v['next']}"
    word = "a real difference" if v.get("real") else "within the noise of this run"
    return f", {minutes:.2g} min/year less downtime than {v['next']} ({word})"


def _sentence(what: str, v: dict) -> str:
    """One figure's verdict: where it is best, and by how much."""
    shown = availability_supported(v["availability"], v.get("ci95"))[0]
    if v["variants"] == 1:
        return f"{what}: only in {v['best']} ({shown})."
    if v.get("minutes_less") == 0:
        return f"{what}: the same in {v['best']} and {v['next']} ({shown})."
    return f"{what}: most available with {v['best']} ({shown}){_difference(v)}."


def verdict_lines(results: list[dict]) -> list[str]:
    """``5 members: the most available API (99.99861%), 0.11 min/year less downtime than 3
    members (a real difference).``, then the workloads and the SLO targets; empty when
    there is nothing to compare."""
    if len(results) < 2:
        return []
    try:
        v = verdict(results)
    except (KeyError, TypeError, ValueError, AttributeError):  # a document without the figures: no verdict
        return []
    lines = []
    if v["api"] is not None:
        lines.append(_sentence("API", v["api"]))
    told = [name for name, w in v["workloads"].items() if w is not None][:VERDICT_WORKLOADS]
    lines += [_sentence(f"workload {name}", v["workloads"][name]) for name in told]
    if len(v["workloads"]) > len(told):
        lines.append(f"{len(v['workloads']) - len(told)} more workloads: in the tables and comparison.json.")
    if v["slo_targets"]:
        if v["slo_missed"]:
            lines.append("SLO targets missed by " + "; ".join(f"{label} ({', '.join(names)})"
                                                            for label, names in v["slo_missed"].items()) + ".")
        else:
            lines.append("SLO targets: every variant meets them.")
    return lines
