"""The short summary `kchaos run` prints: a table a stranger reads in ten seconds."""

from __future__ import annotations

from rich import box
from rich.console import Console
from rich.table import Table
from rich.text import Text

from kchaos.report.formatting import (
    downtime_composition,
    format_availability,
    availability_supported,
    format_number_supported,
    format_count,
    format_fraction_of_time,
    format_minutes,
    format_ms,
    format_nines,
    format_number,
    format_percent,
    format_duration,
    get,
    num,
    precision_text,
    simulated_years,
)
from kchaos.report.gate import missed_line
from kchaos.report.uncertainty import availability_inputs, importance_sampled, interval_covers, minutes_inputs
from kchaos.report.reading import (ADVISORIES_PER_CODE, MAX_WORKLOAD_CARDS, WORST_WORKLOAD_CARDS, as_list, fold_by_code,
                                   workloads_worst_first)

__all__ = ["print_summary", "ADVISORIES_PER_CODE"]


def _avail(a) -> Text:
    if num(a) is None:
        return Text("n/a", style="dim")
    if num(a) >= 1:
        return Text.assemble(("100%", "bold green"), ("  no downtime observed", "green"))
    return Text.assemble((format_availability(a), "bold"), (f"  {format_nines(a)}", "cyan"))


def _row(rows: list, label: str | Text, value: Text | str, interval: str = "") -> None:
    """One figure and its 95% interval, laid out by :func:`_table`."""
    rows.append((label if isinstance(label, Text) else Text(label), value if isinstance(value, Text) else Text(value),
                 interval))


def _table(rows: list, title: Text, width: int) -> Table:
    """The figures as a two-column table that fits ``width`` columns (80 and up).

    An interval follows its value on the same line when both fit, else it takes the next line
    whole, so that it never breaks inside its brackets or loses its unit.
    """
    table = Table(title=title, title_justify="left", box=box.SIMPLE_HEAD, show_edge=False, pad_edge=False)
    table.add_column("", style="bold", no_wrap=True)
    table.add_column(Text.assemble("value  ", ("[95% interval]", "dim")), overflow="fold")
    label_width = max((label.cell_len for label, _, _ in rows), default=0)
    value_width = max(24, width - label_width - 2)
    for label, text, interval in rows:
        if interval:
            first, _, rest = text.plain.partition("\n")
            shown = text[:len(first)]
            fits = len(first) + 2 + len(interval) <= value_width
            shown.append(f"  {interval}" if fits else f"\n{interval}", style="dim")
            if rest:
                shown.append_text(text[len(first):])
            text = shown
        table.add_row(label, text)
    return table


def _largest_cause(rows) -> str:
    """``largest cause (7.2 min/year): datacenter outage: replacements Pending (spread)``: the
    figure first, so that a wrapped line never parts it from its unit."""
    if not isinstance(rows, list) or not rows or not isinstance(rows[0], dict):
        return ""
    top = rows[0]
    minutes = num(top.get("minutes_per_year"))
    if not minutes:
        return ""
    return f"largest cause ({format_minutes(minutes)}/year): {top.get('cause')}"


def _planned_text(m) -> str:
    """``rolling upgrades: 12/year; planned 0.76 min/year (web), 6.8 during maintenance; ...``."""
    if not isinstance(m, dict):
        return ""
    parts = []
    if isinstance(get(m, "plan"), dict):
        parts.append(f"rolling upgrades {format_number(get(m, 'upgrades_per_year'))}/year")
    planned = {"API": num(get(m, "api_planned_minutes_per_year")) or 0.0}
    overlap = num(get(m, "api_overlap_minutes_per_year")) or 0.0
    for name, w in (get(m, "workloads", default={}) or {}).items():
        planned[name] = num(get(w, "planned_minutes_per_year")) or 0.0
        overlap = max(overlap, num(get(w, "overlap_minutes_per_year")) or 0.0)
    worst = max(planned, key=planned.get)
    if planned[worst] > 0:
        parts.append(f"planned downtime up to {format_minutes(planned[worst])}/year ({worst})")
    if overlap > 0:
        parts.append(f"failures during maintenance up to {format_minutes(overlap)}/year")
    blocked = get(m, "blocked_drains", default={}) or {}
    if num(get(blocked, "count")):
        parts.append(f"{format_count(blocked['count'])} drains held up by a budget "
                     f"(longest {format_duration(get(blocked, 'max_seconds'))})")
    return "; ".join(parts)


def _with_inputs(text: Text, inputs: str, unit: str = "") -> Text:
    """A figure's text with its inputs range on a line of its own."""
    if inputs:
        text.append(f"\ninputs range {inputs}{unit}", style="dim")
    return text


def _availability_row(table: list, label, block, cause: str = "") -> None:
    """An availability, its interval and inputs range, with the digits the interval supports."""
    a = get(block, "estimate")
    estimate, interval = availability_supported(a, get(block, "ci95"))
    if num(a) is None or num(a) >= 1:
        text = _avail(a)
    else:
        text = Text.assemble((estimate, "bold"), (f"  {format_nines(a)}", "cyan"))
    _with_inputs(text, availability_inputs(block))
    if cause:
        text.append(f"\n{cause}", style="dim")
    _row(table, label, text, interval)


def print_summary(results: dict, console: Console, report_path: str | None) -> None:
    """Print the headline numbers, the advisories and where the report is."""
    r = results if isinstance(results, dict) else {}
    cp = get(r, "control_plane", default={})
    load = get(r, "load", default={})
    run = get(r, "run", default={})
    name = get(r, "topology", "name", default="topology")
    biased = importance_sampled(r)

    facts = []
    if get(run, "failures_injected") is not None:
        facts.append(f"{format_count(run['failures_injected'])} failures")
    years = simulated_years(run)
    if years is not None:
        facts.append(f"{format_number(years)} simulated years")
    if biased:
        facts.append("importance-sampled")
    if get(run, "seed") is not None:
        facts.append(f"seed {run['seed']}")
    if get(run, "wall_seconds") is not None:
        facts.append(f"{format_number(run['wall_seconds'])} s")
    title = Text.assemble(("kchaos ", "bold"), (str(name), "bold cyan"))
    if facts:
        title.append("  (" + ", ".join(facts) + ")", style="dim")

    table: list = []  # rows, see _table
    stop = precision_text(run)
    if stop:
        _row(table, "precision", Text(stop))
    _availability_row(table, "API availability", get(cp, "availability", default={}))

    qa = get(cp, "quorum_availability", default={})
    q = get(qa, "estimate")
    if get(qa, "exact") is not None:  # the exact answer leads; the simulation is its check
        q_text = _avail(qa["exact"])
        q_text.append("  exact", style="dim")
        simulated, interval = availability_supported(q, get(qa, "ci95"))
        q_text.append(f"\nsimulated {simulated}" + (f"  {interval}" if interval else ""), style="dim")
        _row(table, "etcd quorum", _with_inputs(q_text, availability_inputs(qa)))
    else:
        _availability_row(table, "etcd quorum", qa)

    down = get(cp, "downtime_minutes_per_year", default={})
    estimate, interval = format_number_supported(get(down, "estimate"), get(down, "ci95"), "min/year")
    down_text = Text(estimate)
    parts = downtime_composition(cp)
    if parts:
        down_text.append(f"\n{parts}", style="dim")
    _with_inputs(down_text, minutes_inputs(down), " min/year")
    cause = _largest_cause(get(r, "attribution", "api", default=[]))
    if cause:
        down_text.append(f"\n{cause}", style="dim")
    _row(table, "API downtime / year", down_text, interval)

    if get(cp, "members") is not None:
        _row(table, "etcd members", Text(f"{format_count(cp['members'])} (quorum {format_count(get(cp, 'quorum'))}, "
                                         f"tolerates {format_count(get(cp, 'tolerates'))})"))

    le = get(cp, "leader_elections", default={})
    if get(le, "count") is not None:
        per_year = num(get(le, "per_year"))
        seen = "" if biased else f" ({format_count(le['count'])} in the run)"  # drawn counts mislead when biased
        text = f"{format_number(per_year)} per year{seen}" if per_year is not None else \
            f"{format_count(le['count'])} in the run"
        if num(le["count"]):
            text += f", gap mean {format_ms(get(le, 'mean_ms'))}, p99 {format_ms(get(le, 'p99_ms'))}"
        _row(table, "leader elections", Text(text))

    wc = get(cp, "write_commit_ms", default={})
    if get(wc, "p50") is not None or get(wc, "p99") is not None:
        mean = f", mean {format_ms(wc['mean'])}" if get(wc, "mean") is not None else ""
        _row(table, "write commit", Text(f"p50 {format_ms(get(wc, 'p50'))}{mean}, p99 {format_ms(get(wc, 'p99'))}"))

    workloads = [w for w in as_list(get(r, "workloads")) if isinstance(w, dict)]
    many = len(workloads) > MAX_WORKLOAD_CARDS  # hundreds of workloads: the worst, as the report's cards
    for w in workloads_worst_first(r)[:WORST_WORKLOAD_CARDS] if many else workloads:
        label = Text("workload ", style="bold").append(str(get(w, "name", default="?")), style="bold magenta")
        cause = _largest_cause(get(r, "attribution", "workloads", get(w, "name"), default=[]))
        est, served = get(w, "availability", "estimate"), get(w, "request_availability", "estimate")
        if num(served) is not None and num(est) is not None and num(served) < num(est):
            cause = f"requests served {format_availability(served)} (dead endpoints still sent traffic)" + \
                (f"\n{cause}" if cause else "")
        _availability_row(table, label, get(w, "availability", default={}), cause)
    if many:
        _row(table, f"{len(workloads) - WORST_WORKLOAD_CARDS} more workloads",
             Text("with no more downtime than these: every one in the report and results.json", style="dim"))

    mu = get(load, "max_node_utilization", default={})
    limit = num(get(load, "limit"))
    if mu:
        p95 = num(get(mu, "p95"))
        style = "bold red" if p95 is not None and limit is not None and p95 > limit else ""
        text = Text.assemble("after failures p95 ", (format_percent(p95), style),
                             f", max {format_percent(get(mu, 'max'))}")
        if limit is not None:
            text.append(f" (limit {format_percent(limit)})", style="dim")
        _row(table, "hottest node", text)
    if get(load, "time_above_limit") is not None:
        label = f"time above {format_percent(limit)}" if limit is not None else "time above limit"
        _row(table, label, Text(format_fraction_of_time(load["time_above_limit"])))
    if get(load, "pending_pods", "pod_hours") is not None:
        pp = load["pending_pods"]
        per_year = num(get(pp, "pod_hours_per_year"))
        text = Text(f"{format_number(per_year)} pod-hours per year" if per_year is not None
                    else f"{format_number(pp['pod_hours'])} pod-hours in the run")
        if get(pp, "max") is not None:
            text.append(f", at most {format_count(pp['max'])} at once")
            if biased:  # overlapping failures are drawn more often than they happen
                text.append(" (as drawn under biased sampling)", style="dim")
        _row(table, "pending pods", text)

    planned = _planned_text(get(r, "maintenance"))
    if planned:
        _row(table, "planned work", Text(planned))

    slo = get(r, "slo")
    if isinstance(slo, dict) and get(slo, "passed") is not None:
        missed = [ch for ch in as_list(get(slo, "checks")) if isinstance(ch, dict) and not ch.get("passed", True)]
        if not missed:
            _row(table, "SLO targets", Text("all met", style="bold green"))
        else:  # each missed target named, with its estimate and interval, as `check` says it
            text = Text(f"{len(missed)} missed", style="bold red")
            for ch in missed:
                text.append(f"\n{missed_line(ch)}")
            _row(table, "SLO targets", text)

    if get(run, "partial"):
        console.print(Text("PARTIAL RUN: interrupted; numbers cover only the completed histories.", style="bold red"))
    console.print(_table(table, title, console.width))
    console.print(Text(interval_covers(r), style="dim"))

    advisories = get(r, "advisories", default=[])
    advisories = [a for a in advisories if isinstance(a, dict)] if isinstance(advisories, list) else []
    if advisories:
        console.print(Text("Advisories", style="bold"))
        grid = Table.grid(padding=(0, 1), pad_edge=True)
        grid.add_column(no_wrap=True)
        grid.add_column(ratio=1)
        shown, rest = fold_by_code(advisories)  # the rest are counted below; all are in the report
        for adv in shown:
            code = str(get(adv, "code", default=""))
            sev = str(get(adv, "severity", default="info"))
            style = {"warning": "yellow", "error": "red"}.get(sev, "blue")
            line = Text(str(get(adv, "message", default="")))
            if code:
                line.append(f" [{code}]", style="dim")
            grid.add_row(Text(f"  {sev}", style=f"bold {style}"), line)
        if rest:
            grid.add_row(Text("  ..."), Text("and " + ", ".join(f"{len(r)} more [{code}]" for code, r in rest.items())
                                             + " (all in the report and results.json)", style="dim"))
        console.print(grid)
    if report_path:
        console.print(Text.assemble(("Report: ", "bold"), (str(report_path), "underline")))
