"""Reading results documents defensively: lookups shared by the pages and the terminal comparison.

Nothing here formats output; every function accepts missing or odd fields.
"""

from __future__ import annotations

import math
from typing import Any

from kchaos.report.formatting import get, nines, num, simulated_years

SEVERITY_ORDER = {"error": 0, "warning": 1, "info": 2}
SEVERITY_BADGE = {"error": "b-fail", "warning": "b-warn"}


def as_list(value: Any) -> list:
    return value if isinstance(value, list) else []


def severity_rank(severity: Any) -> int:
    return SEVERITY_ORDER.get(str(severity), 3)


def severity_badge(severity: Any) -> str:
    """The badge class of a severity: red for errors, amber for warnings, blue otherwise."""
    return SEVERITY_BADGE.get(str(severity), "b-info")


def ci_pair(value: Any) -> tuple[float, float] | None:
    """A 95% interval as two numbers, or None."""
    if not isinstance(value, (list, tuple)) or len(value) != 2:
        return None
    lo, hi = num(value[0]), num(value[1])
    return (lo, hi) if lo is not None and hi is not None else None


def nines_text(a: Any) -> str:
    """``4.9 nines``, ``∞ nines`` for a perfect record, ``n/a`` if missing."""
    v = num(a)
    if v is None:
        return "n/a"
    n = nines(v)
    return "∞ nines" if math.isinf(n) else f"{n:.1f} nines"


def advisories(r: Any) -> list[dict]:
    """The advisories of one results document, most severe first (stable otherwise)."""
    adv = [a for a in as_list(get(r, "advisories")) if isinstance(a, dict)]
    return sorted(adv, key=lambda a: severity_rank(get(a, "severity", default="info")))


#: Advisories of one code shown in full (terminal and page); the others of that code are folded.
ADVISORIES_PER_CODE = 3


def fold_by_code(items: list[dict]) -> tuple[list[dict], dict[str, list[dict]]]:
    """The first ADVISORIES_PER_CODE advisories of each code, in order, and the rest by code."""
    shown: list[dict] = []
    rest: dict[str, list] = {}
    count: dict[str, int] = {}
    for a in items:
        code = str(a.get("code", ""))
        count[code] = count.get(code, 0) + 1
        if count[code] <= ADVISORIES_PER_CODE:
            shown.append(a)
        else:
            rest.setdefault(code, []).append(a)
    return shown, rest


def advisory_codes(r: Any) -> list[tuple[str, str, int]]:
    """(code, worst severity, count) of one document, in order of severity, then first appearance."""
    seen: dict[str, list] = {}
    for a in [a for a in as_list(get(r, "advisories")) if isinstance(a, dict)]:
        code = str(get(a, "code", default="advisory"))
        sev = str(get(a, "severity", default="info"))
        if code in seen:
            seen[code][2] += 1
            if severity_rank(sev) < severity_rank(seen[code][1]):
                seen[code][1] = sev
        else:
            seen[code] = [code, sev, 1]
    return sorted((tuple(v) for v in seen.values()), key=lambda v: severity_rank(v[1]))  # type: ignore


def advisory_severities(r: Any) -> dict[str, dict[str, int]]:
    """Per code, how many advisories of each severity one document raises (most severe first)."""
    out: dict[str, dict[str, int]] = {}
    for a in [a for a in as_list(get(r, "advisories")) if isinstance(a, dict)]:
        by_sev = out.setdefault(str(get(a, "code", default="advisory")), {})
        sev = str(get(a, "severity", default="info"))
        by_sev[sev] = by_sev.get(sev, 0) + 1
    return {code: dict(sorted(by_sev.items(), key=lambda kv: severity_rank(kv[0]))) for code, by_sev in out.items()}


# ---------------------------------------------------------------- lists of variants


def docs_of(results: Any) -> list[dict]:
    """The results documents of a comparison; anything that is not a dict is skipped."""
    return [r for r in results if isinstance(r, dict)] if isinstance(results, list) else []


def variant_labels(docs: list[dict]) -> list[str]:
    """Variant labels, made unique (plotly merges equal categories)."""
    out: list[str] = []
    for i, r in enumerate(docs):
        label = get(r, "variant")
        if label is None:
            label = get(r, "topology", "name", default=f"variant {i + 1}")
        label = str(label)
        while label in out:
            label = f"{label} #{i + 1}"
        out.append(label)
    return out


def topology_names(docs: list[dict], default: str = "topology") -> list[str]:
    """The distinct topology names, in order of first appearance."""
    names: list[str] = []
    for r in docs:
        n = str(get(r, "topology", "name", default=default))
        if n not in names:
            names.append(n)
    return names


def is_etcd_sizes(docs: list[dict]) -> bool:
    """Variants of one topology file (same name and source) with distinct etcd member counts."""
    if not docs:
        return False
    same = {(str(get(r, "topology", "name", default="")), str(get(r, "topology", "source", default=""))) for r in docs}
    members = [num(get(r, "control_plane", "members")) for r in docs]
    return len(same) == 1 and all(m is not None for m in members) and len(set(members)) == len(members)


def pod_hours_per_year(r: dict) -> float | None:
    pp = get(r, "load", "pending_pods", default={})
    per_year = num(get(pp, "pod_hours_per_year"))
    if per_year is not None:
        return per_year
    total, years = num(get(pp, "pod_hours")), simulated_years(get(r, "run", default={}))
    return total / years if total is not None and years else None


def elections_per_year(r: dict) -> float | None:
    le = get(r, "control_plane", "leader_elections", default={})
    per_year = num(get(le, "per_year"))
    years = simulated_years(get(r, "run", default={}))
    if per_year is None and num(get(le, "count")) is not None and years:
        per_year = num(le["count"]) / years
    return per_year


def workload_names(docs: list[dict]) -> list[str]:
    names: list[str] = []
    for r in docs:
        for w in as_list(get(r, "workloads")):
            if isinstance(w, dict) and get(w, "name") is not None and str(w["name"]) not in names:
                names.append(str(w["name"]))
    return names


def workload(r: dict, name: str) -> dict:
    for w in as_list(get(r, "workloads")):
        if isinstance(w, dict) and str(get(w, "name")) == name:
            return w
    return {}


#: Up to this many workloads are each shown (a card, a terminal row); a larger cluster shows the
#: ones with the most downtime and lists every workload in a table (150 cards would bury the page).
MAX_WORKLOAD_CARDS = 12
WORST_WORKLOAD_CARDS = 8


def downtime_of(w: dict) -> float:
    """A workload's estimated downtime in minutes per year (0 when unknown)."""
    return num(get(w, "downtime_minutes_per_year", "estimate")) or 0.0


def workloads_worst_first(r: dict) -> list[dict]:
    """The workloads, the most downtime first (ties in the document's order)."""
    return sorted((w for w in as_list(get(r, "workloads")) if isinstance(w, dict)), key=lambda w: -downtime_of(w))


def largest_in_order(items: list, key, n: int) -> list:
    """The ``n`` items with the largest ``key`` (ties: the earlier), in their own order: a long
    list cut to what costs most, still read in the document's order."""
    keep = set(sorted(range(len(items)), key=lambda i: -key(items[i]))[:n])
    return [item for i, item in enumerate(items) if i in keep]
