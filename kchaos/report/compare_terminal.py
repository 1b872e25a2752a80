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
from kchaos.report.formatting import (
    precision_text,
    format_availability,
    format_availability_interval_distinct,
    format_count,
    format_interval_distinct,
    format_ms,
    format_number,
    format_percent,
    get,
    num,
    significant,
    simulated_years,
)
from kchaos.report.reading import (
    advisory_codes,
    ci_pair,
    docs_of,
    elections_per_year,
    is_etcd_sizes,
    nines_text,
    pod_hours_per_year,
    topology_names,
    variant_labels,
)

WIDE_CONSOLE = 165
NARROW_CONSOLE = 100


def _avail_text(a: Any) -> Text:
    v = num(a)
    if v is None:
        return Text("n/a", style="dim")
    if v >= 1:
        return Text.assemble(("100%", "bold green"), ("\n∞ nines", "green"))
    return Text.assemble((format_availability(v), "bold"), (f"\n{nines_text(v)}", "cyan"))


def _terminal_cells(r: dict, narrow: bool) -> dict[str, Text]:
    """The headline cells of one variant, by column header."""
    cp = get(r, "control_plane", default={})
    load = get(r, "load", default={})
    members = get(cp, "members")
    etcd = Text("n/a", style="dim") if members is None else Text(
        f"{format_count(members)} (q {format_count(get(cp, 'quorum'))}, tol {format_count(get(cp, 'tolerates'))})")
    api = _avail_text(get(cp, "availability", "estimate"))
    interval = Text(format_availability_interval_distinct(get(cp, "availability", "ci95")), style="dim")
    if narrow and interval.plain:
        api.append("\n")
        api.append_text(interval)
    down = get(cp, "downtime_minutes_per_year", default={})
    d = num(get(down, "estimate"))
    d_text = Text("n/a", style="dim") if d is None else Text(f"{format_number(d)} min", style="green" if d == 0 else "")
    if ci_pair(get(down, "ci95")):
        d_text.append("\n" + format_interval_distinct(down["ci95"]) + " min", style="dim")
    le = get(cp, "leader_elections", default={})
    e_text = Text(format_number(elections_per_year(r)))
    if get(le, "mean_ms") is not None and num(get(le, "count")):
        e_text.append(f"\ngap {format_ms(le['mean_ms'])}", style="dim")
    wc = get(cp, "write_commit_ms", default={})
    limit, p95 = num(get(load, "limit")), num(get(load, "max_node_utilization", "p95"))
    hot = p95 is not None and limit is not None and p95 > limit
    share = num(get(load, "time_above_limit"))
    above = "n/a" if share is None else ("never" if share == 0 else f"{significant(share * 100)}%")
    return {
        "etcd": etcd,
        "API availability": api,
        "95% interval": interval,
        "quorum\nexact": Text(format_availability(get(cp, "quorum_availability", "exact"))),
        "downtime\nper year": d_text,
        "elections\nper year": e_text,
        "commit\np50 / p99": Text(f"{format_ms(get(wc, 'p50'))} / {format_ms(get(wc, 'p99'))}"),
        "hottest\nnode p95": Text(format_percent(p95) if p95 is not None else "n/a", style="bold red" if hot else ""),
        "above\nlimit": Text(above),
        "pending\npod-h/year": Text(format_number(pod_hours_per_year(r))),
    }


AVAILABILITY_COLUMNS = ["etcd", "API availability", "95% interval", "quorum\nexact", "downtime\nper year"]
LOAD_COLUMNS = ["elections\nper year", "commit\np50 / p99", "hottest\nnode p95", "above\nlimit",
                "pending\npod-h/year"]
NO_WRAP = {"etcd", "API availability", "95% interval", "quorum\nexact", "hottest\nnode p95", "commit\np50 / p99",
           "downtime\nper year", "elections\nper year"}


def _terminal_table(title: Text | None, labels: list[str], docs: list[dict], rows: list[dict[str, Text]],
                    columns: list[str], tight: bool = False) -> Table:
    """``tight``: one space between columns instead of two (80 columns)."""
    table = Table(title=title, title_justify="left", box=box.SIMPLE_HEAD, show_edge=False, pad_edge=False,
                  collapse_padding=tight)
    table.add_column("variant", style="bold", no_wrap=True)
    for col in columns:
        table.add_column(col, justify="left" if col in ("etcd", "API availability", "95% interval") else "right",
                         no_wrap=col in NO_WRAP, overflow="fold")
    for label, r, cells in zip(labels, docs, rows):
        variant = Text(label)
        if get(r, "run", "partial"):
            variant.append("\nPARTIAL", style="bold red")
        table.add_row(variant, *(cells[c] for c in columns))
    return table


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
    """Print the headline numbers of every variant, their advisory codes, the CRN note and the report path.

    One table on a wide terminal; otherwise the same columns in two tables
    (availability, then elections, latency and load) so no column is dropped.
    """
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

    if any(get(r, "run", "partial") for r in docs):
        console.print(Text("PARTIAL RUN: interrupted; some variants cover only the completed histories, later "
                           "ones are missing.", style="bold red"))
    narrow = console.width < NARROW_CONSOLE
    rows = [_terminal_cells(r, narrow) for r in docs]
    if console.width >= WIDE_CONSOLE:
        console.print(_terminal_table(title, labels, docs, rows, AVAILABILITY_COLUMNS + LOAD_COLUMNS))
        first, second = [], []
    elif narrow:  # 80 columns: each interval under its value, the exact quorum with the load figures
        first = [c for c in AVAILABILITY_COLUMNS if c not in ("95% interval", "quorum\nexact")]
        second = ["quorum\nexact"] + LOAD_COLUMNS
    else:
        first, second = AVAILABILITY_COLUMNS, LOAD_COLUMNS
    if first:
        console.print(_terminal_table(title, labels, docs, rows, first))
        console.print()
        console.print(_terminal_table(None, labels, docs, rows, second, tight=narrow))
    _printadvisory_codes(docs, labels, console)
    console.print(Text(CRN_NOTE, style="dim"))
    stops = [(get(r, "variant"), precision_text(get(r, "run"))) for r in results if isinstance(r, dict)]
    stops = [(label, text) for label, text in stops if text]
    if stops and len({text for _, text in stops}) == 1:
        console.print(Text(f"precision: {stops[0][1]}", style="dim"))
    else:
        for label, text in stops:
            console.print(Text(f"precision ({label}): {text}", style="dim"))
    if sizes:
        console.print(Text("Even sizes tolerate no more failures than the odd size below them, and have one more "
                           "member to fail.", style="dim"))
    if report_path:
        console.print(Text.assemble(("Report: ", "bold"), (str(report_path), "underline")))


__all__ = ["print_comparison"]
