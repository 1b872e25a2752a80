"""The comparison page's view model: results documents, one per variant, turned into plain data.

Tables put metrics in rows and variants in columns. A table cell is a dict
with ``kind``: ``value`` (value and detail as inline pieces), ``dash`` (no
data), ``chips`` (advisory codes) or ``marks`` (how often a variant raises an
advisory, one badge per severity). Figures go into the page's FigureSet.
"""

from __future__ import annotations

from typing import Any

from kchaos.analysis.compare import CRN_NOTE
from kchaos.report.compare_figures import availability_figure, commit_figure, downtime_figure, workload_figure
from kchaos.report.figures import FigureSet
from kchaos.report.formatting import (
    HOURS_PER_YEAR,
    format_availability,
    availability_supported,
    format_count,
    format_number_supported,
    format_ms,
    format_number,
    format_percent,
    get,
    num,
    significant,
    simulated_years,
)
from kchaos.report.inline import BR, Inline, b, badge, code, joined, small, span
from kchaos.report.reading import (
    WORST_WORKLOAD_CARDS,
    advisory_codes,
    largest_in_order,
    advisory_severities,
    ci_pair,
    elections_per_year,
    nines_text,
    pod_hours_per_year,
    severity_badge,
    severity_rank,
    topology_names,
    workload,
    workload_names,
)
from kchaos.report.views import advisory_items

METRIC_COL, VARIANT_COL = 220, 190


def value_cell(value: Inline | str, detail: Inline | None = None) -> dict:
    return {"kind": "value", "value": [value] if isinstance(value, str) else value, "detail": detail or []}


DASH = {"kind": "dash"}


def nines_detail(a: Any) -> Inline:
    """Nines for a table cell; a perfect record says so on two lines."""
    v = num(a)
    if v is not None and v >= 1:
        return ["∞ nines", BR, "no downtime observed"]
    return [nines_text(v)]


def table(first: str, labels: list[str], rows: list[dict], heads: list[dict] | None = None) -> dict:
    """A metrics × variants table; ``heads`` adds a detail line under each variant's label."""
    return {"first": first, "width": METRIC_COL + VARIANT_COL * len(labels),
            "columns": heads if heads is not None else [{"label": label, "detail": None} for label in labels],
            "rows": rows}


def row(label: Inline | str, sub: str, cells: list[dict]) -> dict:
    return {"label": [label] if isinstance(label, str) else label, "sub": sub, "cells": cells}


# ---------------------------------------------------------------- sections


def header(docs: list[dict], labels: list[str], sizes: bool) -> dict:
    names = topology_names(docs, "(unnamed topology)")
    if sizes:
        title, kicker = f"{names[0]}: etcd sizes", "KCHAOS COMPARISON · ETCD SIZES"
    else:
        title = " vs ".join(names) if 1 <= len(names) <= 3 else f"{len(docs)} topologies"
        kicker = "KCHAOS COMPARISON"
    desc = get(docs[0], "topology", "description") if sizes and docs else None
    facts: list[Inline] = [[b(len(docs)), f" variant{'s' if len(docs) != 1 else ''}"]]
    runs = [get(r, "run", default={}) for r in docs]
    injected = [v for v in (num(get(run, "failures_injected")) for run in runs) if v is not None]
    if injected:
        lo, hi = min(injected), max(injected)
        span = format_count(lo) if lo == hi else f"{format_count(lo)}–{format_count(hi)}"
        facts.append([b(span), " failures injected per variant"])
    years = [y for y in (simulated_years(run) for run in runs) if y is not None]
    if years:
        hist = get(runs[0], "histories")
        extra = f" in {format_count(hist)} histories" if hist is not None else ""
        same = max(years) - min(years) <= 1e-6 * max(years)
        facts.append([b(format_number(years[0]) if same else format_number(max(years))),
                      f" simulated years{extra} {'each' if same else 'at most'}"])
    seeds = {str(get(run, "seed")) for run in runs if get(run, "seed") is not None}
    if len(seeds) == 1:
        facts.append(["seed ", b(next(iter(seeds)))])
    walls = [w for w in (num(get(run, "wall_seconds")) for run in runs) if w is not None]
    if walls:
        facts.append([b(f"{format_number(sum(walls))} s"), " wall time in all"])
    if all(get(run, "common_random_numbers") for run in runs) and runs:
        facts.append(["common random numbers"])
    sources: list[str] = []
    for r in docs:
        s = get(r, "topology", "source")
        if s and str(s) not in sources:
            sources.append(str(s))
    if sources:
        fact: Inline = ["from "]
        for i, s in enumerate(sources[:4]):
            fact += [", ", code(s)] if i else [code(s)]
        facts.append(fact + ([f" and {len(sources) - 4} more"] if len(sources) > 4 else []))
    bad = [label for label, run in zip(labels, runs) if get(run, "partial")]
    partial = ""
    if bad:
        partial = (f"PARTIAL RUN: the comparison was interrupted. Partial variant{'s' if len(bad) > 1 else ''}: "
                   f"{', '.join(bad)}; their numbers cover only the histories that completed, and variants after "
                   "the interruption are missing.")
    return {"kicker": kicker, "title": title, "description": str(desc) if desc else "", "partial": partial,
            "facts": facts}


def notes(docs: list[dict], sizes: bool) -> dict:
    """How to compare: shared random streams, the control variate, and why even etcd sizes do not help."""
    pairs = []
    if sizes:
        by_members = {int(num(get(r, "control_plane", "members"))): r for r in docs}  # type: ignore[arg-type]
        for n, r in sorted(by_members.items()):
            if n % 2 == 0 and n - 1 in by_members:
                odd = by_members[n - 1]
                tol_even = get(r, "control_plane", "tolerates")
                tol_odd = get(odd, "control_plane", "tolerates")
                text = f"{n} members tolerate {format_count(tol_even) if tol_even is not None else 'n/a'}"
                text += f", {n - 1} tolerate {format_count(tol_odd) if tol_odd is not None else 'n/a'}"
                a_e = get(r, "control_plane", "availability", "estimate")
                a_o = get(odd, "control_plane", "availability", "estimate")
                text += f" (API availability {format_availability(a_e)} against {format_availability(a_o)})"
                pairs.append(text)
    return {
        "crn": CRN_NOTE,
        "control_variate": any(get(r, "control_plane", "availability", "method") == "control-variate"
                               for r in docs),
        # why even sizes do not help, when an even size is among the variants
        "sizes": sizes and any((num(get(r, "control_plane", "members")) or 1) % 2 == 0 for r in docs),
        "pairs": pairs,
    }


def charts(docs: list[dict], labels: list[str], figs: FigureSet) -> dict:
    """Availability in nines, downtime and commit latency: a placeholder each, or None."""
    avail, down, commit = (availability_figure(docs, labels), downtime_figure(docs, labels),
                           commit_figure(docs, labels))
    return {
        "availability": figs.add(avail, 420, ["API availability in nines per variant ",
                                              small("error bars: 95% interval; a triangle at ∞ is a run "
                                                    "without downtime")]) if avail is not None else None,
        "downtime": figs.add(down, 360, ["API downtime per year ", small("minutes, with 95% interval")])
        if down is not None else None,
        "commit": figs.add(commit, 360, ["Write commit latency ", small("p50 and p99")])
        if commit is not None else None,
    }


def workloads(docs: list[dict], labels: list[str], figs: FigureSet) -> dict | None:
    """Each workload's availability per variant, as a figure and a table; None without workloads."""
    names = workload_names(docs)
    if not names:
        return None
    drawn = names
    if len(names) > WORST_WORKLOAD_CARDS:  # a cluster of hundreds: draw the least available
        def lowest(name: str) -> float:
            values = [num(get(workload(r, name), "availability", "estimate")) for r in docs]
            return min((v for v in values if v is not None), default=1.0)
        drawn = largest_in_order(names, lambda name: -lowest(name), WORST_WORKLOAD_CARDS)
    fig = workload_figure(docs, labels, drawn)
    rows = []
    for name in names:
        cells = []
        for r in docs:
            av = get(workload(r, name), "availability", default={})
            est = get(av, "estimate")
            if not workload(r, name) or num(est) is None:
                cells.append(DASH)
                continue
            estimate, interval = availability_supported(est, get(av, "ci95"))
            detail = nines_detail(est)
            if interval:
                detail += [BR, interval]
            cells.append(value_cell(estimate, detail))
        kind = get(next((workload(r, name) for r in docs if workload(r, name)), {}), "kind")
        rows.append(row(name, str(kind) if kind else "", cells))
    title = ["Workload availability in nines per variant ", small("95% interval")]
    if len(drawn) < len(names):
        title.append(small(f"; the {len(drawn)} least available of {len(names)} workloads, every one in the table"))
    return {
        "figure": figs.add(fig, 380, title) if fig is not None else None,
        "table": table("workload", labels, rows),
    }


def advisory_section(docs: list[dict], labels: list[str]) -> dict | None:
    """Which advisory codes each variant raises, with the severity they have there; then the messages.

    Codes that tell the variants apart come first, then the most severe.
    """
    per_variant = [advisory_severities(r) for r in docs]
    worst: dict[str, str] = {}
    for pv in per_variant:
        for c, by_sev in pv.items():
            sev = next(iter(by_sev))
            if c not in worst or severity_rank(sev) < severity_rank(worst[c]):
                worst[c] = sev
    if not worst:
        return None
    first = {c: min(i for i, pv in enumerate(per_variant) if c in pv) for c in worst}
    order = sorted(worst, key=lambda c: (all(c in pv for pv in per_variant), severity_rank(worst[c]), first[c], c))
    rows = []
    for c in order:
        cells = []
        severities: list[str] = []
        for pv in per_variant:
            by_sev = pv.get(c)
            if not by_sev:
                cells.append(DASH)
                continue
            total = sum(by_sev.values())
            cells.append({"kind": "marks", "marks": [
                {"cls": severity_badge(sev), "title": sev, "text": "✓" if total == 1 else f"×{n}"}
                for sev, n in by_sev.items()]})
            severities += [sev for sev in by_sev if sev not in severities]
        rows.append(row([code(c)], " / ".join(sorted(severities, key=severity_rank)), cells))
    return {
        "table": table("advisory", labels, rows),
        "variants": [{"label": label, "items": advisory_items(r)} for label, r in zip(labels, docs)],
    }


def advisory_chips(docs: list[dict]) -> list[dict]:
    """The headline row of advisory codes; codes every variant raises are grey and last."""
    everywhere = (set.intersection(*({c for c, _, _ in advisory_codes(r)} for r in docs)) if len(docs) > 1
                  else set())
    cells = []
    for r in docs:
        chips = [badge(f"{c}{f' ×{n}' if n > 1 else ''}", "b-common" if c in everywhere else severity_badge(sev),
                       title=sev)
                 for c, sev, n in sorted(advisory_codes(r), key=lambda item: item[0] in everywhere)]
        cells.append({"kind": "chips", "chips": chips})
    return cells


def headline(docs: list[dict], labels: list[str]) -> dict:
    """Metrics as rows, variants as columns: a 1..7-column table that fits the page."""
    cps = [get(r, "control_plane", default={}) for r in docs]
    loads = [get(r, "load", default={}) for r in docs]
    rows = []
    for key, label, sub in (("members", "etcd members", ""), ("quorum", "quorum", "members needed for writes"),
                            ("tolerates", "tolerates", "members that can be down")):
        rows.append(row(label, sub, [value_cell(format_count(get(cp, key)) if get(cp, key) is not None else "—")
                                     for cp in cps]))

    cells = []
    for cp in cps:
        a = num(get(cp, "availability", "estimate"))
        estimate, interval = availability_supported(a, get(cp, "availability", "ci95"))
        detail = nines_detail(a)
        if interval:
            detail += [BR, interval]
        cells.append(value_cell(estimate, detail))
    rows.append(row("API availability", "writes accepted; nines; 95% interval", cells))

    cells = []
    for cp in cps:
        qa = get(cp, "quorum_availability", default={})
        lines: list[Inline] = []
        simulated, interval = availability_supported(get(qa, "estimate"), get(qa, "ci95"))
        if get(qa, "exact") is not None:  # the exact answer leads; the simulation is its check
            lines.append(["exact"])
            lines.append([f"simulated {simulated}"])
            if interval:
                lines.append([interval])
            cells.append(value_cell(format_availability(qa["exact"]), joined(lines)))
            continue
        if interval:
            lines.append([interval])
        cells.append(value_cell(simulated, joined(lines)))
    rows.append(row("etcd quorum availability", "exact where known; simulated, 95% interval", cells))

    cells = []
    for cp in cps:
        down = get(cp, "downtime_minutes_per_year", default={})
        d = num(get(down, "estimate"))
        estimate, interval = format_number_supported(d, get(down, "ci95"), "min")
        lines = [["no downtime observed"]] if d == 0 else []
        if ci_pair(get(down, "ci95")):
            lines.append([interval + " min"])
        cells.append(value_cell("n/a" if d is None else estimate, joined(lines)))
    rows.append(row("API downtime per year", "95% interval", cells))

    cells = []
    for r, cp in zip(docs, cps):
        le = get(cp, "leader_elections", default={})
        detail = ("no leader lost" if num(get(le, "count")) == 0
                  else f"gap {format_ms(le['mean_ms'])}" if get(le, "mean_ms") is not None else "")
        cells.append(value_cell(format_number(elections_per_year(r)), [detail] if detail else []))
    rows.append(row("leader elections per year", "and the mean write gap of each", cells))

    rows.append(row("write commit latency", "p50 / p99", [
        value_cell(f"{format_ms(get(cp, 'write_commit_ms', 'p50'))} / {format_ms(get(cp, 'write_commit_ms', 'p99'))}")
        for cp in cps]))

    cells = []
    for load in loads:
        limit = num(get(load, "limit"))
        p95 = num(get(load, "max_node_utilization", "p95"))
        text = format_percent(p95) if p95 is not None else "n/a"
        hot = p95 is not None and limit is not None and p95 > limit
        cells.append(value_cell([span(text, "hot")] if hot else text,
                                [f"limit {format_percent(limit)}"] if limit is not None else []))
    rows.append(row("hottest node", "p95 after failures", cells))

    cells = []
    for load in loads:
        share = num(get(load, "time_above_limit"))
        if share is None or share == 0:
            cells.append(value_cell("n/a" if share is None else "never"))
        else:
            hours = share * HOURS_PER_YEAR
            cells.append(value_cell(f"{significant(share * 100)}%", [
                format_number(hours, "h/year") if hours >= 1 else format_number(hours * 60, "min/year")]))
    rows.append(row("time above the limit", "any node above the utilisation limit", cells))

    cells = []
    for r, load in zip(docs, loads):
        mx = get(load, "pending_pods", "max")
        cells.append(value_cell(format_number(pod_hours_per_year(r)),
                                [f"at most {format_count(mx)} at once"] if mx is not None else []))
    rows.append(row("pending pod-hours per year", "pods waiting for a node", cells))
    rows.append(row("advisories", "codes; grey: raised by every variant", advisory_chips(docs)))

    heads = []
    for label, r in zip(labels, docs):
        run = get(r, "run", default={})
        failures = get(run, "failures_injected")
        heads.append({"label": label, "detail": {
            "failures": f"{format_count(failures)} failures" if failures is not None else "",
            "partial": bool(get(run, "partial"))}})
    return table("variant", labels, rows, heads)
