"""The run report's view model: one results document turned into plain data for report.html.

Every value is a string, a number, a boolean, a list or a dict of those, or
inline pieces (see :mod:`kchaos.report.inline`); the template adds all markup
and escapes all text. Missing or odd fields never raise: they read as n/a.
"""

from __future__ import annotations

from typing import Any

from kchaos.report.formatting import (
    HOURS_PER_YEAR,
    format_availability,
    format_availability_interval,
    format_availability_interval_distinct,
    availability_supported,
    downtime_composition,
    format_number_supported,
    format_count,
    format_interval,
    format_minutes,
    format_ms,
    format_nines,
    format_number,
    format_percent,
    get,
    num,
    significant,
    simulated_years,
)
from kchaos.report.gate import check_value, is_upper_bound
from kchaos.report.inline import Inline, b, badge, code, small, span
from kchaos.report.uncertainty import availability_inputs, importance_sampled, minutes_inputs
from kchaos.report.reading import (MAX_WORKLOAD_CARDS, WORST_WORKLOAD_CARDS, advisories, as_list, downtime_of, fold_by_code,
                                   severity_badge, workloads_worst_first)


def card(label: Inline, value: Inline, details: list[Inline], cls: str = "") -> dict:
    return {"label": label, "value": value, "details": [d for d in details if d], "cls": cls}


def avail_value(a: Any, shown: str | None = None) -> Inline:
    """An availability for a card: percent (``shown``: with the digits its interval supports)
    and nines, or a perfect record said as such."""
    if num(a) is None:
        return ["n/a"]
    if num(a) >= 1:
        return ["100% ", small("· no downtime observed")]
    return [f"{shown or format_availability(a)} ", small(f"· {format_nines(a)}")]


def advisory_items(r: Any) -> list[dict]:
    """The advisories of one document, most severe first, each with its own severity."""
    out = []
    for a in advisories(r):
        sev = str(get(a, "severity", default="info"))
        out.append({"severity": sev, "label": sev.upper(), "badge": severity_badge(sev),
                    "message": str(get(a, "message", default="")), "code": str(get(a, "code", default=""))})
    return out


# ---------------------------------------------------------------- sections


def header(r: dict) -> dict:
    topo = get(r, "topology", default={})
    run = get(r, "run", default={})
    years = simulated_years(run)
    facts: list[Inline] = []
    if get(run, "failures_injected") is not None:
        facts.append([b(format_count(run["failures_injected"])), " failures injected"])
    if years is not None:
        hist = get(run, "histories")
        extra = f" in {format_count(hist)} histories" if hist is not None else ""
        facts.append([b(format_number(years)), f" simulated years{extra}"])
    if get(run, "sampling", "method") == "importance":
        facts.append(["importance-sampled: overlapping failures drawn more often, each cycle weighted"])
    elif get(run, "sampling", "reason") and "asked for" not in str(get(run, "sampling", "reason")):
        facts.append([f"plain sampling: {get(run, 'sampling', 'reason')}"])
    if get(run, "seed") is not None:
        facts.append(["seed ", b(run["seed"])])
    if get(run, "wall_seconds") is not None:
        jobs = get(run, "jobs")
        extra = f" on {format_count(jobs)} job{'s' if num(jobs) != 1 else ''}" if jobs is not None else ""
        facts.append([b(f"{format_number(run['wall_seconds'])} s"), f" wall time{extra}"])
    shape = []
    if get(topo, "etcd_topology"):
        shape.append(f"{topo['etcd_topology']} etcd")
    for key, word in (("members", "members"), ("workers", "workers"), ("pods", "pods")):
        if get(topo, key) is not None:
            shape.append(f"{format_count(topo[key])} {word}")
    if shape:
        facts.append([", ".join(shape)])
    if get(topo, "source"):
        facts.append(["from ", code(topo["source"])])
    if get(topo, "sha256"):
        sha = str(topo["sha256"])
        facts.append(["sha256 ", code(f"{sha[:12]}…", title=sha)])
    return {
        "kicker": "KCHAOS AVAILABILITY REPORT",
        "title": str(get(topo, "name", default="(unnamed topology)")),
        "description": str(get(topo, "description") or ""),
        "partial": ("PARTIAL RUN: the run was interrupted. The numbers below cover only the histories that "
                    "completed and are less certain than a full run.") if get(run, "partial") else "",
        "facts": facts,
    }


def control_plane_cards(r: dict) -> list[dict]:
    cp = get(r, "control_plane", default={})
    run = get(r, "run", default={})
    cards = []

    avail = get(cp, "availability", default={})
    estimate, interval = availability_supported(get(avail, "estimate"), get(avail, "ci95"))
    details: list[Inline] = []
    if interval:
        details.append(["95% interval " + interval])
    if availability_inputs(avail):
        details.append(["inputs range " + availability_inputs(avail)])
    if get(avail, "method") == "control-variate":
        details.append(["exact quorum loss + simulated elections"])
        mc = get(avail, "monte_carlo", "estimate")
        if mc is not None:
            details.append(["simulation alone " + format_availability(mc)])
    elif get(avail, "analytic") is not None:
        details.append(["analytic " + format_availability(avail["analytic"])])
    cards.append(card(["API availability (writes accepted)"], avail_value(get(avail, "estimate"), estimate), details,
                      "primary"))

    down = get(cp, "downtime_minutes_per_year", default={})
    value, interval = format_number_supported(get(down, "estimate"), get(down, "ci95"))
    details = []
    if get(down, "ci95"):
        details.append(["95% interval " + interval + " min"])
    if minutes_inputs(down):
        details.append(["inputs range " + minutes_inputs(down) + " min"])
    parts = downtime_composition(cp)
    if parts:  # the exact term counts outages this run may never have drawn: say so
        details.append([parts])
    outages = get(cp, "outages", default={})
    if num(get(outages, "per_year")) is not None:  # natural rates (weighted when importance-sampled)
        details.append([f"about {significant(outages['per_year'])} outages a year"])
    elif get(outages, "count") is not None and not importance_sampled(r):
        details.append([f"{format_count(outages['count'])} outages in the run"])
    cards.append(card(["API downtime per year"], [f"{value} ", small("min/year")] if value != "n/a" else [value],
                      details, "primary"))

    qa = get(cp, "quorum_availability", default={})
    q = get(qa, "estimate")
    details = []
    if get(qa, "exact") is not None:  # the exact answer leads; the simulation is its check
        details.append(["exact (closed form); simulated " + availability_supported(q, get(qa, "ci95"))[0]])
        q = qa["exact"]
    if get(qa, "ci95"):
        details.append(["simulated 95% interval " + format_availability_interval(qa["ci95"])])
    if availability_inputs(qa):
        details.append(["inputs range " + availability_inputs(qa)])
    members, quorum, tol = get(cp, "members"), get(cp, "quorum"), get(cp, "tolerates")
    if members is not None:
        line: Inline = [b(f"{format_count(members)} member{'' if num(members) == 1 else 's'}")]
        line += [f" · quorum {format_count(quorum)}"] if quorum is not None else []
        line += [f" · tolerates {format_count(tol)} down"] if tol is not None else []
        details.append(line)
    cards.append(card(["etcd quorum availability"], avail_value(q), details))

    le = get(cp, "leader_elections", default={})
    count = get(le, "count")
    if count is not None:
        years = simulated_years(run)
        details = []
        if num(count):
            details.append([f"write gap mean {format_ms(get(le, 'mean_ms'))} · p99 {format_ms(get(le, 'p99_ms'))}"])
        else:
            details.append(["no leader was lost in the run"])
        if not importance_sampled(r):  # drawn counts are not natural ones under biased sampling
            details.append([f"{format_count(count)} in the run"])
        per_year = num(get(le, "per_year"))
        if per_year is None and years and num(count) is not None:
            per_year = num(count) / years
        if per_year is not None:  # a rate per year, like every other figure here (same figure as the terminal)
            cards.append(card(["Leader elections per year"], [format_number(per_year)], details))
        else:
            cards.append(card(["Leader elections in the run"], [format_count(count)], details))

    wc = get(cp, "write_commit_ms", default={})
    if get(wc, "p50") is not None or get(wc, "p99") is not None:
        details = [[f"mean {format_ms(wc['mean'])}"]] if get(wc, "mean") is not None else []
        cards.append(card(["Write commit latency"],
                          [f"{format_ms(get(wc, 'p50'))} ", small("p50"), f" · {format_ms(get(wc, 'p99'))} ",
                           small("p99")], details))
    return cards


def load_cards(r: dict) -> list[dict]:
    load = get(r, "load", default={})
    run = get(r, "run", default={})
    cards = []
    mu = get(load, "max_node_utilization", default={})
    if mu:
        limit = get(load, "limit")
        details: list[Inline] = [[f"max {format_percent(get(mu, 'max'))} · p50 {format_percent(get(mu, 'p50'))}"]]
        if get(load, "baseline_max_node_utilization") is not None:
            details.append([f"before any failure {format_percent(load['baseline_max_node_utilization'])}"
                            + (f" · limit {format_percent(limit)}" if limit is not None else "")])
        p95 = get(mu, "p95")
        hot = num(limit) is not None and num(p95) is not None and num(p95) > num(limit)
        p95_text = format_percent(p95)
        cards.append(card(["Hottest node after failures"],
                          [span(p95_text, "hot") if hot else p95_text, " ", small("p95")], details))

    if get(load, "time_above_limit") is not None:
        limit = get(load, "limit")
        label = f"Time any node is above {format_percent(limit)}" if limit is not None else "Time above the limit"
        share = num(load["time_above_limit"])
        if share:
            value: Inline = [f"{significant(share * 100)}% ", small("of the time")]
            hours = share * HOURS_PER_YEAR
            details = [[f"≈ {format_number(hours, 'h') if hours >= 1 else format_number(hours * 60, 'min')} a year"]]
        else:
            value, details = ["never"], [["no node went above the limit"]]
        cards.append(card([label], value, details))

    pp = get(load, "pending_pods", default={})
    if pp:
        years = simulated_years(run)
        details = []
        if get(pp, "max") is not None:
            details.append([f"at most {format_count(pp['max'])} pending at once"
                            + (" (as drawn under biased sampling)" if importance_sampled(r) else "")])
        per_year = num(get(pp, "pod_hours_per_year"))
        if per_year is None and years and num(get(pp, "pod_hours")) is not None:
            per_year = num(pp["pod_hours"]) / years
        if per_year is not None:
            cards.append(card(["Pending pod-hours per year"], [format_number(per_year)], details))
        else:
            cards.append(card(["Pending pod-hours in the run"], [format_number(get(pp, "pod_hours"))], details))
    return cards


def workload_cards(r: dict) -> list[dict]:
    """A card per workload, or for a large cluster, per workload with the most downtime."""
    listed = [w for w in as_list(get(r, "workloads")) if isinstance(w, dict)]
    if len(listed) > MAX_WORKLOAD_CARDS:
        listed = workloads_worst_first(r)[:WORST_WORKLOAD_CARDS]
    return [_workload_card(w) for w in listed]


def workload_table(r: dict) -> dict | None:
    """Every workload in one table, the most downtime first, when there are too many for cards."""
    listed = workloads_worst_first(r)
    if len(listed) <= MAX_WORKLOAD_CARDS:
        return None
    rows = []
    for w in listed:
        av = get(w, "availability", default={})
        rows.append({"name": str(get(w, "name", default="?")), "kind": str(get(w, "kind", default="")),
                     "availability": avail_value(get(av, "estimate")),
                     "interval": format_availability_interval(av["ci95"]) if get(av, "ci95") else "",
                     "downtime": format_minutes(downtime_of(w)),
                     "replicas": format_count(w["replicas"]) if get(w, "replicas") is not None else "",
                     "needs": format_count(w["min_available"]) if get(w, "min_available") is not None else ""})
    return {"rows": rows, "shown": min(WORST_WORKLOAD_CARDS, len(listed)), "total": len(listed)}


def _workload_card(w: dict) -> dict:
    av = get(w, "availability", default={})
    estimate, interval = availability_supported(get(av, "estimate"), get(av, "ci95"))
    details: list[Inline] = []
    if interval:
        details.append(["95% interval " + interval])
    if availability_inputs(av):
        details.append(["inputs range " + availability_inputs(av)])
    dm = get(w, "downtime_minutes_per_year", default={})
    if get(dm, "estimate") is not None:
        details.append([f"{format_number_supported(dm['estimate'], get(dm, 'ci95'))[0]} min down per year"])
    shape = []
    if get(w, "replicas") is not None:
        shape.append(f"{format_count(w['replicas'])} replicas")
    if get(w, "min_available") is not None:
        shape.append(f"needs {format_count(w['min_available'])}")
    if shape:
        details.append([", ".join(shape)])
    label: Inline = [str(get(w, "name", default="?"))]
    if get(w, "kind"):
        label += [" ", small(f"({w['kind']})")]
    return card(label, avail_value(get(av, "estimate"), estimate), details, "workload")


def slo(r: dict) -> dict | None:
    """The SLO verdicts, or None when the document has no targets."""
    block = get(r, "slo")
    if not isinstance(block, dict) or not get(block, "checks"):
        return None
    overall = get(block, "passed")
    rows = []
    for c in as_list(block["checks"]):
        if not isinstance(c, dict):
            continue
        upper = is_upper_bound(c)
        passed, confirmed = get(c, "passed"), get(c, "confirmed")
        need = get(c, "failures_to_confirm")
        note = ""
        if passed and confirmed is False:
            verdict = badge("PASS, NOT YET CONFIRMED", "b-warn")
            note = f"needs ≈ {format_count(need)} failures to confirm" if need is not None else ""
        elif passed:
            verdict = badge("PASS", "b-pass")
        elif passed is None:
            verdict = badge("NO VERDICT", "b-info")
        else:
            verdict = badge("FAIL", "b-fail")
            if confirmed is False:
                note = "not yet confirmed" + (f"; needs ≈ {format_count(need)} failures" if need is not None else "")
        ci = get(c, "ci95")
        ci_txt = ""
        if ci:
            ci_txt = (format_interval(ci, lambda x: check_value(c, x)) if upper
                      else format_availability_interval_distinct(ci))
        span = get(c, "inputs_range")
        inputs = (format_interval(span, lambda x: check_value(c, x)) if upper else
                  format_availability_interval_distinct(span)) if span else ""
        rows.append({
            "bad": passed is False,
            "inputs": inputs or "—",
            "name": str(get(c, "name", default="?")),
            "required": (f"survive any {str(get(c, 'name')).removeprefix('survive.')} loss"
                         if str(get(c, "name", default="")).startswith("survive.")
                         else f"{'≤' if upper else '≥'} {check_value(c, get(c, 'target'))}"),
            "estimate": check_value(c, get(c, "estimate")),
            "interval": ci_txt or "—",
            "verdict": verdict,
            "note": note,
        })
    return {
        "badge": (badge("ALL TARGETS MET", "b-pass") if overall
                  else badge("TARGET MISSED", "b-fail") if overall is not None else None),
        "rows": rows,
        "inputs": any(row["inputs"] != "—" for row in rows),
    }


def advisory_section(r: dict) -> dict:
    """The advisories, the first few of each code listed and the rest folded (``more``)."""
    items = advisory_items(r)
    n_warn = sum(1 for a in items if a["severity"] in ("warning", "error"))
    shown, more = fold_by_code(items)
    return {"items": shown, "more": [{"code": code, "items": rest} for code, rest in more.items()],
            "badge": badge(f"{n_warn} warning{'s' if n_warn != 1 else ''}", "b-warn") if n_warn else None}
