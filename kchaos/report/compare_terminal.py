"""`kchaos compare` in the terminal: the variants' headline numbers side by side, then their advisory codes.

Every label and code is printed as plain :class:`rich.text.Text`, so no
variant name or advisory can be read as console markup.
"""

from __future__ import annotations

from typing import Any

from rich import box
from rich.console import Console
from rich.table import Table
from rich.text import Text

from kchaos.analysis.compare import CRN_NOTE
from kchaos.report.compare_verdict import verdict_lines
from kchaos.report.uncertainty import availability_inputs
from kchaos.report.formatting import (
    availability_supported,
    precision_text,
    format_availability,
    format_count,
    format_ms,
    format_number_supported,
    format_number,
    format_percent,
    get,
    num,
    significant,
    simulated_years,
)
from kchaos.report.reading import (
    WORST_WORKLOAD_CARDS,
    advisory_codes,
    ci_pair,
    docs_of,
    elections_per_year,
    is_etcd_sizes,
    largest_in_order,
    nines_text,
    pod_hours_per_year,
    topology_names,
    variant_labels,
    workload,
    workload_names,
)

#: The variant column's widest (longer labels fold onto a second line).
VARIANT_WIDTH = 22
#: Characters between two columns: a space of padding (collapsed) and the box's divider.
GAP = 2


def _avail_text(block: Any) -> Text:
    """An availability with the digits its interval supports, its nines, the interval below, and
    its inputs range when the rates are given as ranges."""
    a = get(block, "estimate")
    v = num(a)
    if v is None:
        return Text("n/a", style="dim")
    if v >= 1:
        return Text.assemble(("100%", "bold green"), ("  ∞ nines", "green"))
    estimate, interval = availability_supported(v, get(block, "ci95"))
    text = Text.assemble((estimate, "bold"), (f"  {nines_text(v)}", "cyan"))
    if interval:
        text.append(f"\n{interval}", style="dim")
    if availability_inputs(block):
        text.append(f"\ninputs {availability_inputs(block)}", style="dim")
    return text


def _columns(r: dict) -> dict[str, Text]:
    """The headline cells of one variant, by column header (two-line headers keep columns narrow)."""
    cp = get(r, "control_plane", default={})
    load = get(r, "load", default={})
    members = get(cp, "members")
    etcd = Text("n/a", style="dim") if members is None else Text(
        f"{format_count(members)} (quorum {format_count(get(cp, 'quorum'))})\n"
        f"tolerates {format_count(get(cp, 'tolerates'))}")
    down = get(cp, "downtime_minutes_per_year", default={})
    estimate, interval = format_number_supported(get(down, "estimate"), get(down, "ci95"), "min")
    d_text = Text(estimate, style="green" if num(get(down, "estimate")) == 0 else "")
    if ci_pair(get(down, "ci95")):
        d_text.append(f"\n{interval} min", style="dim")
    le = get(cp, "leader_elections", default={})
    e_text = Text(format_number(elections_per_year(r)))
    if get(le, "mean_ms") is not None and num(get(le, "count")):
        e_text.append(f"\ngap {le['mean_ms'] / 1000:.2f} s", style="dim")
    wc = get(cp, "write_commit_ms", default={})
    limit, p95 = num(get(load, "limit")), num(get(load, "max_node_utilization", "p95"))
    hot = p95 is not None and limit is not None and p95 > limit
    share = num(get(load, "time_above_limit"))
    above = "n/a" if share is None else ("never" if share == 0 else f"{significant(share * 100)}%")
    return {
        "etcd": etcd,
        "API availability": _avail_text(get(cp, "availability")),
        "API downtime\nper year": d_text,
        "quorum\n(exact)": Text(format_availability(get(cp, "quorum_availability", "exact"))),
        "elections\nper year": e_text,
        "commit\np50 / p99": Text(f"{format_ms(get(wc, 'p50'))} / {format_ms(get(wc, 'p99'))}"),
        "hottest\np95": Text(format_percent(p95) if p95 is not None else "n/a", style="bold red" if hot else ""),
        "above\nlimit": Text(above),
        "pending\npod-h/year": Text(format_number(pod_hours_per_year(r))),
    }


LEFT = {"etcd", "API availability"}


def _width(header: str, cells: list[Text]) -> int:
    return max([len(line) for line in header.split("\n")] + [len(line) for t in cells for line in t.plain.split("\n")])


def _print_packed(console: Console, labels: list[str], docs: list[dict], columns: dict[str, list[Text]],
                  title: Text | None = None) -> None:
    """The columns in as few tables as the console's width allows, each table whole: no cell
    is ever cut (a long variant name folds onto a second line)."""
    if not columns:
        return
    variant = min(VARIANT_WIDTH, max([len("variant")] + [len(label) for label in labels]))
    tables: list[list[str]] = [[]]
    used = variant
    for header, cells in columns.items():
        w = _width(header, cells) + GAP
        if tables[-1] and used + w > console.width:
            tables.append([])
            used = variant
        tables[-1].append(header)
        used += w
    for i, headers in enumerate(tables):
        table = Table(title=title if i == 0 else None, title_justify="left", box=box.SIMPLE_HEAD, show_edge=False,
                      pad_edge=False, collapse_padding=True)
        table.add_column("variant", style="bold", width=variant, overflow="fold")
        for header in headers:
            table.add_column(header, justify="left" if header in LEFT else "right", no_wrap=True,
                             width=_width(header, columns[header]))
        for row, (label, r) in enumerate(zip(labels, docs)):
            name = Text(label)
            if get(r, "run", "partial"):
                name.append("\nPARTIAL", style="bold red")
            table.add_row(name, *(columns[h][row] for h in headers))
        if i:
            console.print()
        console.print(table)


def _workload_columns(docs: list[dict]) -> tuple[dict[str, list[Text]], int]:
    """One column per workload (the least available first when there are many), and how many
    workloads were left out."""
    names = workload_names(docs)
    shown = names
    if len(names) > WORST_WORKLOAD_CARDS:
        def lowest(name: str) -> float:
            values = [num(get(workload(r, name), "availability", "estimate")) for r in docs]
            return min((v for v in values if v is not None), default=1.0)
        shown = largest_in_order(names, lambda name: -lowest(name), WORST_WORKLOAD_CARDS)
    columns = {}
    for name in shown:
        columns[name] = [_avail_text(get(workload(r, name), "availability")) if workload(r, name)
                         else Text("—", style="dim") for r in docs]
    return columns, len(names) - len(shown)


def _printadvisory_codes(docs: list[dict], labels: list[str], console: Console) -> None:
    """Codes raised by every variant once, then per variant the codes that set it apart."""
    per_variant = [advisory_codes(r) for r in docs]
    common = [c for c in per_variant[0] if all(any(c[0] == o[0] for o in pv) for pv in per_variant[1:])] \
        if per_variant and len(docs) > 1 else []
    common_codes = {c[0] for c in common}
    lines = []
    if common:
        lines.append(("every variant", common))
    for label, pv in zip(labels, per_variant):
        own = [c for c in pv if c[0] not in common_codes]
        if own:
            lines.append((label, own))
    if not lines:
        console.print(Text.assemble(("Advisories: ", "bold"), ("none", "dim")))
        return
    console.print(Text("Advisories", style="bold"))
    for who, codes in lines:
        line = Text(f"  {who}: ", style="bold")
        for i, (code, sev, n) in enumerate(codes):
            line.append(", " if i else "")
            line.append(code + (f" ×{n}" if n > 1 and who != "every variant" else ""),
                        style={"error": "red", "warning": "yellow"}.get(sev, "blue"))
        console.print(line)


def print_comparison(results: list[dict], console: Console, report_path: str | None) -> None:
    """Print the headline numbers and workloads of every variant in tables that fit the console
    (as many as its width needs, never a cut cell), their advisory codes, the verdict, the CRN
    note and the report path."""
    docs = docs_of(results)
    labels = variant_labels(docs)
    sizes = is_etcd_sizes(docs)
    names = topology_names(docs)
    title = Text("kchaos compare ", style="bold")
    title.append(", ".join(names) if names else "(no variants)", style="bold cyan")
    if sizes:
        title.append(": etcd sizes", style="bold")
    failures = [f for f in (num(get(r, "run", "failures_injected")) for r in docs) if f is not None]
    years = [y for y in (simulated_years(get(r, "run", default={})) for r in docs) if y is not None]
    facts = []
    if failures:
        lo, hi = min(failures), max(failures)
        facts.append(f"{format_count(lo)}{'' if lo == hi else '–' + format_count(hi)} failures per variant")
    if years:
        facts.append(f"{format_number(max(years))} simulated years each")
    if facts:
        title.append("  (" + ", ".join(facts) + ")", style="dim")

    console.print(title)
    if any(get(r, "run", "partial") for r in docs):
        console.print(Text("PARTIAL RUN: interrupted; some variants cover only the completed histories, later "
                           "ones are missing.", style="bold red"))
    cells = [_columns(r) for r in docs]
    _print_packed(console, labels, docs, {h: [c[h] for c in cells] for h in cells[0]} if cells else {})
    columns, left_out = _workload_columns(docs)
    if columns:
        console.print()
        head = Text("Workloads", style="bold")
        head.append("  availability, nines, 95% interval" + (f"; the {len(columns)} least available, "
                                                                f"{left_out} more in comparison.json"
                                                                if left_out else ""), style="dim")
        _print_packed(console, labels, docs, columns, head)
    _printadvisory_codes(docs, labels, console)
    lines = verdict_lines(results)
    if lines:
        console.print(Text("Verdict", style="bold"))
        for line in lines:
            console.print(Text(f"  {line}"))
    console.print(Text(CRN_NOTE, style="dim"))
    stops = [(get(r, "variant"), precision_text(get(r, "run"))) for r in docs]
    stops = [(label, text) for label, text in stops if text]
    if stops and len({text for _, text in stops}) == 1:
        console.print(Text(f"precision: {stops[0][1]}", style="dim"))
    else:
        for label, text in stops:
            console.print(Text(f"precision ({label}): {text}", style="dim"))
    members = [num(get(r, "control_plane", "members")) for r in docs]
    if sizes and any(m is not None and m % 2 == 0 for m in members):
        console.print(Text("Even sizes tolerate no more failures than the odd size below them, and have one more "
                           "member to fail.", style="dim"))
    if report_path:
        console.print(Text.assemble(("Report: ", "bold"), (str(report_path), "underline")))


__all__ = ["print_comparison"]
