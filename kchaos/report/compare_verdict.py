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
    api = v["api"]
    if api is not None:
        if api.get("minutes_less") == 0:
            lines.append(f"API: {api['best']} and {api['next']} are equally available "
                         f"({availability_supported(api['availability'], api['ci95'])[0]}).")
        else:
            lines.append(f"API: most available with {api['best']} ({availability_supported(api['availability'], api['ci95'])[0]})"
                         f"{_difference(api)}.")
    told = 0
    for name, w in v["workloads"].items():
        if w is None or told >= VERDICT_WORKLOADS:
            continue
        told += 1
        if w["variants"] == 1:
            lines.append(f"workload {name}: only in {w['best']} ({availability_supported(w['availability'], w['ci95'])[0]}).")
        elif w.get("minutes_less") == 0:
            lines.append(f"workload {name}: the same in {w['best']} and {w['next']} "
                         f"({availability_supported(w['availability'], w['ci95'])[0]}).")
        else:
            lines.append(f"workload {name}: most available with {w['best']} "
                         f"({availability_supported(w['availability'], w['ci95'])[0]}){_difference(w)}.")
    if len(v["workloads"]) > told:
        lines.append(f"{len(v['workloads']) - told} more workloads: in the tables and comparison.json.")
    if v["slo_targets"]:
        if v["slo_missed"]:
            lines.append("SLO targets missed by " + "; ".join(f"{label} ({', '.join(names)})"
                                                            for label, names in v["slo_missed"].items()) + ".")
        else:
            lines.append("SLO targets: every variant meets them.")
    return lines
