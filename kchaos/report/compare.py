"""`kchaos compare` output: one page and one terminal table with the variants side by side.

The page reuses the single-run report's look and machinery (CSS, escaping, the
inlined plotly bundle, :class:`_Figures`): one self-contained file, no CDN.
Every variant label, topology name and advisory is escaped.
"""

from __future__ import annotations

import math
from typing import Any

import plotly.graph_objects as go
from rich import box
from rich.console import Console
from rich.table import Table
from rich.text import Text

from kchaos.analysis.compare import CRN_NOTE
from kchaos.report.formatting import (
    HOURS_PER_YEAR,
    format_availability,
    format_availability_interval_distinct,
    format_count,
    format_interval_distinct,
    format_minutes,
    format_ms,
    format_number,
    format_percent,
    get,
    nines,
    num,
    significant,
    simulated_years,
)
from kchaos.report.html import (
    ASSUMPTIONS,
    BLUE,
    CSS,
    GREEN,
    MUTED,
    ORANGE,
    PURPLE,
    RED,
    _base_layout,
    _empty,
    _Figures,
    _section,
    esc,
    plotly_bundle,
)

COMPARE_CSS = """
.tablewrap{overflow-x:auto}
table.cmp{table-layout:fixed;font-size:13.5px}
table.cmp th.metric{background:#fff;width:220px;font-size:14px;color:#1f2933;white-space:normal}
table.cmp thead th:first-child{width:220px}
table.cmp th small,table.cmp .d{display:block;font-size:12px;color:#616e7c;font-weight:400;white-space:normal}
table.cmp thead th{white-space:normal;font-size:14px;color:#1f2933}
table.cmp td{overflow-wrap:anywhere}
table.cmp .v{font-weight:650}
table.cmp td.adv .adv-badges{justify-content:flex-end}
table.cmp tbody tr:hover td,table.cmp tbody tr:hover th{background:#f8fafc}
.notes p{max-width:1100px;margin:6px 0}
.notes .why{border-left:4px solid #7c3aed;background:#f5f3ff;padding:8px 12px;border-radius:6px;margin-top:10px}
.adv-badges{display:flex;flex-wrap:wrap;gap:3px}
.adv-badges .badge{font-weight:600;letter-spacing:0}
table.cmp td.adv .badge{white-space:normal;overflow-wrap:anywhere;text-align:right;border-radius:8px}
.b-common{background:#eef2f6;color:#52606d}
.mark{display:inline-block;min-width:22px;text-align:center}
details{margin-top:12px}
details summary{cursor:pointer;font-weight:600;color:#3e4c59}
details h3{margin:12px 0 6px}
"""

ETCD_SIZES_NOTE = (
    "etcd accepts writes only while a majority of its members, ⌊n/2⌋ + 1, are up, so n members tolerate "
    "⌊(n − 1)/2⌋ failures: 3 and 4 members both tolerate 1, 5 and 6 both tolerate 2. The extra member of an "
    "even size adds no tolerance, but it is one more member that can fail, so quorum is lost slightly more "
    "often; every write also waits for one more acknowledgement, so commits can only get slower. Spread over "
    "two sites, an even size also splits evenly, and losing either site then loses quorum."
)

SEVERITY_ORDER = {"error": 0, "warning": 1, "info": 2}
SEVERITY_BADGE = {"error": "b-fail", "warning": "b-warn"}
METRIC_COL, VARIANT_COL = 220, 190


# ---------------------------------------------------------------- helpers


def _docs(results: Any) -> list[dict]:
    return [r for r in results if isinstance(r, dict)] if isinstance(results, list) else []


def _labels(docs: list[dict]) -> list[str]:
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


def _ci(value: Any) -> tuple[float, float] | None:
    if not isinstance(value, (list, tuple)) or len(value) != 2:
        return None
    lo, hi = num(value[0]), num(value[1])
    return (lo, hi) if lo is not None and hi is not None else None


def _nines_text(a: Any) -> str:
    """``4.9 nines``, ``∞ nines`` for a perfect record, ``n/a`` if missing."""
    v = num(a)
    if v is None:
        return "n/a"
    n = nines(v)
    return "∞ nines" if math.isinf(n) else f"{n:.1f} nines"


def _nines_detail(a: Any) -> str:
    """Nines for a table cell; a perfect record says so on two lines."""
    v = num(a)
    if v is not None and v >= 1:
        return "∞ nines<br>no downtime observed"
    return _nines_text(v)


def _availability(a: Any) -> str:
    """Percent for a table cell, ``n/a`` when missing."""
    v = num(a)
    if v is None:
        return "n/a"
    return format_availability(v)


def _is_etcd_sizes(docs: list[dict]) -> bool:
    """Variants of one topology file (same name and source) with distinct etcd member counts."""
    if not docs:
        return False
    same = {(str(get(r, "topology", "name", default="")), str(get(r, "topology", "source", default=""))) for r in docs}
    members = [num(get(r, "control_plane", "members")) for r in docs]
    return len(same) == 1 and all(m is not None for m in members) and len(set(members)) == len(members)


def _pod_hours_per_year(r: dict) -> float | None:
    pp = get(r, "load", "pending_pods", default={})
    per_year = num(get(pp, "pod_hours_per_year"))
    if per_year is not None:
        return per_year
    total, years = num(get(pp, "pod_hours")), simulated_years(get(r, "run", default={}))
    return total / years if total is not None and years else None


def _advisories(r: dict) -> list[dict]:
    adv = get(r, "advisories", default=[])
    return [a for a in adv if isinstance(a, dict)] if isinstance(adv, list) else []


def _advisory_codes(r: dict) -> list[tuple[str, str, int]]:
    """(code, severity, count) in order of severity, then first appearance."""
    seen: dict[str, list] = {}
    for a in _advisories(r):
        code = str(get(a, "code", default="advisory"))
        sev = str(get(a, "severity", default="info"))
        if code in seen:
            seen[code][2] += 1
            if SEVERITY_ORDER.get(sev, 3) < SEVERITY_ORDER.get(seen[code][1], 3):
                seen[code][1] = sev
        else:
            seen[code] = [code, sev, 1]
    return sorted((tuple(v) for v in seen.values()), key=lambda v: SEVERITY_ORDER.get(v[1], 3))  # type: ignore


def _workload_names(docs: list[dict]) -> list[str]:
    names: list[str] = []
    for r in docs:
        for w in get(r, "workloads", default=[]) if isinstance(get(r, "workloads"), list) else []:
            if isinstance(w, dict) and get(w, "name") is not None and str(w["name"]) not in names:
                names.append(str(w["name"]))
    return names


def _workload(r: dict, name: str) -> dict:
    for w in get(r, "workloads", default=[]) if isinstance(get(r, "workloads"), list) else []:
        if isinstance(w, dict) and str(get(w, "name")) == name:
            return w
    return {}


def _cell(value: str, detail: str = "", cls: str = "num") -> str:
    det = f'<span class="d">{detail}</span>' if detail else ""
    return f'<td class="{cls}"><span class="v">{value}</span>{det}</td>'


# ---------------------------------------------------------------- figures


def _nines_figure(labels: list[str], series: list[dict], grouped: bool = False) -> go.Figure | None:
    """Nines per variant with asymmetric 95% error bars.

    ``series``: dicts with name, colour, symbol, values (availabilities) and
    optional cis. A perfect record (∞ nines) is drawn on a separate ∞ line at
    the top, so nothing is lost or broken off the axis.
    """
    points = [num(a) for s in series for a in s["values"]]
    points += [end for s in series for ci in s.get("cis") or [] if (c := _ci(ci)) is not None for end in c]
    all_nines = [nines(a) for a in points if a is not None]
    finite = [n for n in all_nines if math.isfinite(n)]
    any_inf = any(math.isinf(n) for n in all_nines)
    if not finite and not any_inf:
        return None
    k_lo = math.floor(min(finite)) if finite else 0
    k_hi = math.ceil(max(finite)) if finite else 2
    top = k_hi + 1 if any_inf else None
    x_cat = [esc(label) for label in labels]
    traces = []
    for index, s in enumerate(series):
        ys, plus, minus, hover, symbols = [], [], [], [], []
        cis = s.get("cis") or [None] * len(labels)
        for label, a, ci in zip(labels, s["values"], cis):
            v = num(a)
            if v is None:
                ys.append(None)
                plus.append(0.0)
                minus.append(0.0)
                hover.append("")
                symbols.append(s["symbol"])
                continue
            n = nines(v)
            y = top if math.isinf(n) else n
            text = f"<b>{esc(label)}</b><br>{esc(s['name'])}: {format_availability(v)} · {_nines_text(v)}"
            if math.isinf(n):
                text += " (no downtime observed)"
            c = _ci(ci)
            extra = (s.get("extra") or [""] * len(labels))[len(ys)]
            p = m = 0.0
            if c is not None:
                lo_n, hi_n = nines(c[0]), nines(c[1])
                hi_y = top if math.isinf(hi_n) else hi_n
                lo_y = top if math.isinf(lo_n) else lo_n
                p, m = max(0.0, hi_y - y), max(0.0, y - lo_y)
                text += f"<br>95% interval {format_availability_interval_distinct(list(c))}"
                text += f"<br>= {lo_n:.1f} to {'∞' if math.isinf(hi_n) else f'{hi_n:.1f}'} nines"
            text += extra
            ys.append(y)
            plus.append(p)
            minus.append(m)
            hover.append(text)
            symbols.append(("triangle-up" + ("-open" if s.get("open") else "")) if math.isinf(n) else s["symbol"])
        line = dict(color=s["colour"], width=2) if s.get("open") else dict(color="#ffffff", width=1)
        trace = dict(
            x=x_cat, y=ys, name=esc(s["name"]), mode="markers",
            marker=dict(color=s["colour"], size=s.get("size", 11), symbol=symbols, line=line),
            hovertext=hover, hoverinfo="text",
        )
        if s.get("cis"):
            trace["error_y"] = dict(type="data", symmetric=False, array=plus, arrayminus=minus,
                                    color=s["colour"], thickness=1.6, width=7)
        if grouped:
            trace["offsetgroup"] = f"g{index}"
        traces.append(go.Scatter(**trace))
    ticks = list(range(max(0, k_lo), k_hi + 1))
    tickvals: list[float] = list(ticks)
    ticktext = [f"{k} nines · {format_availability(1 - 10.0 ** -k)}" if k else "0" for k in ticks]
    y_max = k_hi + 0.3
    if top is not None:
        tickvals.append(top)
        ticktext.append("∞ · no downtime")
        y_max = top + 0.35
    layout = _base_layout(
        showlegend=True,
        legend=dict(orientation="h", x=0, xanchor="left", y=1.0, yanchor="bottom"),
        xaxis=dict(type="category", title=dict(text="")),
        yaxis=dict(title=dict(text="nines = −log10(1 − availability)"), tickvals=tickvals, ticktext=ticktext,
                   range=[max(0.0, k_lo) - 0.35, y_max]),
        margin=dict(l=60, r=20, t=40, b=50),
        hovermode="closest",
    )
    if grouped:
        layout["scattermode"] = "group"
        layout["scattergap"] = 0.45
    fig = go.Figure(traces, layout=layout)
    if top is not None:
        fig.add_hline(y=top - 0.5, line=dict(color=MUTED, width=1, dash="dot"))
    return fig


def _availability_figure(docs: list[dict], labels: list[str]) -> go.Figure | None:
    cp = [get(r, "control_plane", default={}) for r in docs]
    extra = []
    for c in cp:
        mc = get(c, "availability", "monte_carlo", default={})
        text = ""
        if get(c, "availability", "method") == "control-variate" and num(get(mc, "estimate")) is not None:
            text = (f"<br>control variate; simulation alone {format_availability(mc['estimate'])} "
                    f"{format_availability_interval_distinct(get(mc, 'ci95'))}")
        extra.append(text)
    series = [dict(name="API availability (estimate, 95% interval)", colour=BLUE, symbol="circle", size=12,
                   values=[get(c, "availability", "estimate") for c in cp],
                   cis=[get(c, "availability", "ci95") for c in cp], extra=extra)]
    exact = [get(c, "quorum_availability", "exact") for c in cp]
    if any(num(e) is not None for e in exact):
        series.append(dict(name="etcd quorum availability, exact", colour=ORANGE, symbol="diamond-open", size=13,
                           open=True, values=exact))
    return _nines_figure(labels, series)


def _downtime_figure(docs: list[dict], labels: list[str]) -> go.Figure | None:
    est = [num(get(r, "control_plane", "downtime_minutes_per_year", "estimate")) for r in docs]
    cis = [_ci(get(r, "control_plane", "downtime_minutes_per_year", "ci95")) for r in docs]
    if all(e is None for e in est):
        return None
    positive = [v for v in est if v is not None and 0 < v < math.inf]
    positive += [end for c in cis if c is not None for end in c if 0 < end < math.inf]
    log_y = len(positive) >= 2 and max(positive) / min(positive) > 10
    x_cat = [esc(label) for label in labels]
    if log_y:
        e_lo = math.floor(math.log10(min(positive))) - 0.3
        e_hi = math.log10(max(positive)) + 0.45
        floor_value = 10 ** e_lo
    else:
        floor_value = 0.0
        e_lo = e_hi = 0.0
    bar_y = [None if v is None or (log_y and v <= 0) else v for v in est]
    hover = []
    for label, v, c in zip(labels, est, cis):
        text = f"<b>{esc(label)}</b><br>API downtime {format_minutes(v)}/year"
        if v == 0:
            text += " (no downtime observed)"
        if c is not None:
            text += f"<br>95% interval {format_interval_distinct(list(c))} min"
        hover.append(text)
    traces = [go.Bar(x=x_cat, y=bar_y, marker=dict(color=RED, opacity=0.75, line=dict(width=0)),
                     text=[format_number(v) if v else "" for v in bar_y], textposition="inside",
                     insidetextanchor="end", textfont=dict(color="#ffffff", size=11), textangle=0,
                     hovertext=hover, hoverinfo="text", name="estimate", width=0.55)]
    # The interval hangs from its upper end, clamped to the axis floor on a log axis: a zero lower end
    # (or a zero estimate) never produces a negative or infinite bar.
    iy, iminus, ihover = [], [], []
    for text, c in zip(hover, cis):
        if c is None or not math.isfinite(c[1]) or (log_y and c[1] <= 0):
            iy.append(None)
            iminus.append(0.0)
            ihover.append("")
            continue
        lo = max(c[0], floor_value) if log_y else max(c[0], 0.0)
        iy.append(c[1])
        iminus.append(max(0.0, c[1] - lo))
        ihover.append(text)
    if any(y is not None for y in iy):
        traces.append(go.Scatter(x=x_cat, y=iy, mode="markers", name="95% interval",
                                 marker=dict(color="#7f1d1d", symbol="line-ew-open", size=12, line=dict(width=1.6)),
                                 error_y=dict(type="data", symmetric=False, array=[0] * len(iy), arrayminus=iminus,
                                              color="#7f1d1d", thickness=1.6, width=6),
                                 hovertext=ihover, hoverinfo="text"))
    yaxis: dict[str, Any] = dict(title=dict(text="API downtime, minutes per year" + (" (log scale)" if log_y else "")))
    if log_y:
        yaxis.update(type="log", range=[e_lo, e_hi], dtick=1, exponentformat="none", tickformat=",~g")
    else:
        top = max(positive) if positive else 1.0
        yaxis.update(rangemode="tozero", range=[0, top * 1.15])
    fig = go.Figure(traces, layout=_base_layout(
        xaxis=dict(type="category"), yaxis=yaxis, bargap=0.35, hovermode="closest",
        showlegend=False, margin=dict(l=60, r=20, t=24, b=50)))
    for xc, v in zip(x_cat, est):
        if v is None:
            continue
        if v == 0:
            fig.add_annotation(x=xc, y=0, yref="paper", yanchor="bottom", yshift=2, text="none<br>observed",
                               showarrow=False, font=dict(size=11, color=GREEN), bgcolor="rgba(255,255,255,0.9)")
    return fig



def _commit_figure(docs: list[dict], labels: list[str]) -> go.Figure | None:
    p50 = [num(get(r, "control_plane", "write_commit_ms", "p50")) for r in docs]
    p99 = [num(get(r, "control_plane", "write_commit_ms", "p99")) for r in docs]
    if all(v is None for v in p50 + p99):
        return None
    x_cat = [esc(label) for label in labels]
    traces = []
    for name, values, colour in (("p50", p50, "#c4b5fd"), ("p99", p99, PURPLE)):
        clean = [v if v is not None and math.isfinite(v) else None for v in values]
        traces.append(go.Bar(
            x=x_cat, y=clean, name=name, marker=dict(color=colour, line=dict(width=0)),
            text=[format_ms(v) if v is not None else "" for v in clean], textposition="outside",
            cliponaxis=False, textfont=dict(size=11),
            hovertext=[f"<b>{esc(l)}</b><br>commit {name} {format_ms(v)}" for l, v in zip(labels, clean)],
            hoverinfo="text"))
    finite = [v for v in p50 + p99 if v is not None and math.isfinite(v)]
    return go.Figure(traces, layout=_base_layout(
        showlegend=True, legend=dict(orientation="h", x=0, xanchor="left", y=1.0, yanchor="bottom"),
        barmode="group", bargap=0.3, xaxis=dict(type="category"),
        yaxis=dict(title=dict(text="write commit latency (ms)"), rangemode="tozero",
                   range=[0, (max(finite) if finite else 1) * 1.2]),
        margin=dict(l=60, r=20, t=40, b=50)))


def _workload_figure(docs: list[dict], labels: list[str], names: list[str]) -> go.Figure | None:
    palette = ["#0d9488", BLUE, ORANGE, PURPLE, "#db2777", "#65a30d", "#0891b2", "#9333ea"]
    symbols = ["circle", "square", "diamond", "triangle-down", "hexagon", "star", "cross", "x"]
    series = []
    for i, name in enumerate(names):
        ws = [_workload(r, name) for r in docs]
        series.append(dict(name=name, colour=palette[i % len(palette)], symbol=symbols[i % len(symbols)],
                           values=[get(w, "availability", "estimate") for w in ws],
                           cis=[get(w, "availability", "ci95") for w in ws]))
    return _nines_figure(labels, series, grouped=len(series) > 1)


# ---------------------------------------------------------------- sections


def _header(docs: list[dict], labels: list[str], sizes: bool) -> str:
    names: list[str] = []
    for r in docs:
        n = str(get(r, "topology", "name", default="(unnamed topology)"))
        if n not in names:
            names.append(n)
    if sizes:
        title = f"{esc(names[0])}: etcd sizes"
        kicker = "KCHAOS COMPARISON · ETCD SIZES"
    else:
        title = " vs ".join(esc(n) for n in names) if 1 <= len(names) <= 3 else f"{len(docs)} topologies"
        kicker = "KCHAOS COMPARISON"
    desc = get(docs[0], "topology", "description") if sizes and docs else None
    facts = [f"<span><b>{len(docs)}</b> variant{'s' if len(docs) != 1 else ''}</span>"]
    runs = [get(r, "run", default={}) for r in docs]
    injected = [num(get(run, "failures_injected")) for run in runs]
    injected = [v for v in injected if v is not None]
    if injected:
        lo, hi = min(injected), max(injected)
        span = format_count(lo) if lo == hi else f"{format_count(lo)}–{format_count(hi)}"
        facts.append(f"<span><b>{span}</b> failures injected per variant</span>")
    years = [y for y in (simulated_years(run) for run in runs) if y is not None]
    if years:
        hist = get(runs[0], "histories")
        extra = f" in {format_count(hist)} histories" if hist is not None else ""
        same = max(years) - min(years) <= 1e-6 * max(years)
        facts.append(f"<span><b>{format_number(years[0]) if same else format_number(max(years))}</b> simulated "
                     f"years{extra} {'each' if same else 'at most'}</span>")
    seeds = {str(get(run, "seed")) for run in runs if get(run, "seed") is not None}
    if len(seeds) == 1:
        facts.append(f"<span>seed <b>{esc(next(iter(seeds)))}</b></span>")
    walls = [num(get(run, "wall_seconds")) for run in runs]
    walls = [w for w in walls if w is not None]
    if walls:
        facts.append(f"<span><b>{format_number(sum(walls))} s</b> wall time in all</span>")
    if all(get(run, "common_random_numbers") for run in runs) and runs:
        facts.append("<span>common random numbers</span>")
    sources = []
    for r in docs:
        s = get(r, "topology", "source")
        if s and str(s) not in sources:
            sources.append(str(s))
    if sources:
        facts.append("<span>from " + ", ".join(f"<code>{esc(s)}</code>" for s in sources[:4])
                     + (f" and {len(sources) - 4} more" if len(sources) > 4 else "") + "</span>")
    partial = ""
    bad = [esc(label) for label, run in zip(labels, runs) if get(run, "partial")]
    if bad:
        partial = ('<div class="partial">PARTIAL RUN: the comparison was interrupted. '
                   f"Partial variant{'s' if len(bad) > 1 else ''}: {', '.join(bad)}; their numbers cover only the "
                   "histories that completed, and variants after the interruption are missing.</div>")
    desc_html = f'<p class="lead">{esc(desc)}</p>' if desc else ""
    return (f'<header><div class="muted" style="font-size:13px;font-weight:600;letter-spacing:.05em">{kicker}'
            f"</div><h1>{title}</h1>{desc_html}{partial}<div class=\"facts\">{''.join(facts)}</div></header>")


def _headline(docs: list[dict], labels: list[str]) -> str:
    """Metrics as rows, variants as columns: a 1..7-column table that fits the page."""
    avail = [num(get(r, "control_plane", "availability", "estimate")) for r in docs]
    rows: list[tuple[str, str, list[str]]] = []

    def row(label: str, sub: str, cells: list[str]) -> None:
        rows.append((label, sub, cells))

    cps = [get(r, "control_plane", default={}) for r in docs]
    loads = [get(r, "load", default={}) for r in docs]
    for key, label, sub in (("members", "etcd members", ""), ("quorum", "quorum", "members needed for writes"),
                            ("tolerates", "tolerates", "members that can be down")):
        row(label, sub, [_cell(format_count(get(cp, key)) if get(cp, key) is not None else "—") for cp in cps])

    cells = []
    for cp, a in zip(cps, avail):
        detail = _nines_detail(a)
        if _ci(get(cp, "availability", "ci95")):
            detail += f"<br>{format_availability_interval_distinct(cp['availability']['ci95'])}"
        cells.append(_cell(_availability(a), detail))
    row("API availability", "writes accepted; nines; 95% interval", cells)

    cells = []
    for cp in cps:
        qa = get(cp, "quorum_availability", default={})
        detail = []
        if get(qa, "exact") is not None:
            detail.append(f"exact <b>{format_availability(qa['exact'])}</b>")
        if _ci(get(qa, "ci95")):
            detail.append(format_availability_interval_distinct(qa["ci95"]))
        cells.append(_cell(_availability(get(qa, "estimate")), "<br>".join(detail)))
    row("etcd quorum availability", "simulated; exact; 95% interval", cells)

    cells = []
    for cp in cps:
        down = get(cp, "downtime_minutes_per_year", default={})
        d = num(get(down, "estimate"))
        detail = "no downtime observed" if d == 0 else ""
        if _ci(get(down, "ci95")):
            detail += ("<br>" if detail else "") + format_interval_distinct(down["ci95"]) + " min"
        cells.append(_cell("n/a" if d is None else format_minutes(d), detail))
    row("API downtime per year", "95% interval", cells)

    cells = []
    for r, cp in zip(docs, cps):
        le = get(cp, "leader_elections", default={})
        per_year = _elections_per_year(r)
        detail = ("no leader lost" if num(get(le, "count")) == 0
                  else f"gap {format_ms(le['mean_ms'])}" if get(le, "mean_ms") is not None else "")
        cells.append(_cell(format_number(per_year), detail))
    row("leader elections per year", "and the mean write gap of each", cells)

    row("write commit latency", "p50 / p99", [
        _cell(f"{format_ms(get(cp, 'write_commit_ms', 'p50'))} / {format_ms(get(cp, 'write_commit_ms', 'p99'))}")
        for cp in cps])

    cells = []
    for load in loads:
        limit = num(get(load, "limit"))
        p95 = num(get(load, "max_node_utilization", "p95"))
        text = format_percent(p95) if p95 is not None else "n/a"
        if p95 is not None and limit is not None and p95 > limit:
            text = f'<span class="hot">{text}</span>'
        cells.append(_cell(text, f"limit {format_percent(limit)}" if limit is not None else ""))
    row("hottest node", "p95 after failures", cells)

    cells = []
    for load in loads:
        share = num(get(load, "time_above_limit"))
        if share is None:
            cells.append(_cell("n/a"))
        elif share == 0:
            cells.append(_cell("never"))
        else:
            hours = share * HOURS_PER_YEAR
            cells.append(_cell(f"{significant(share * 100)}%",
                               format_number(hours, "h/year") if hours >= 1 else format_number(hours * 60, "min/year")))
    row("time above the limit", "any node above the utilisation limit", cells)

    cells = []
    for r, load in zip(docs, loads):
        mx = get(load, "pending_pods", "max")
        cells.append(_cell(format_number(_pod_hours_per_year(r)),
                           f"at most {format_count(mx)} at once" if mx is not None else ""))
    row("pending pod-hours per year", "pods waiting for a node", cells)

    everywhere = set.intersection(*({c for c, _, _ in _advisory_codes(r)} for r in docs)) if len(docs) > 1 \
        else set()
    cells = []
    for r in docs:
        chips = []
        for code, sev, n in sorted(_advisory_codes(r), key=lambda c: c[0] in everywhere):
            cls = "b-common" if code in everywhere else SEVERITY_BADGE.get(sev, "b-info")
            chips.append(f'<span class="badge {cls}" title="{esc(sev)}">{esc(code)}{f" ×{n}" if n > 1 else ""}</span>')
        cells.append(f'<td class="adv"><div class="adv-badges">{"".join(chips)}</div></td>' if chips
                     else '<td class="adv muted">none</td>')
    row("advisories", "codes; grey: raised by every variant", cells)

    head = ["<th>variant</th>"]
    for label, r in zip(labels, docs):
        run = get(r, "run", default={})
        detail = []
        if get(run, "failures_injected") is not None:
            detail.append(f"{format_count(run['failures_injected'])} failures")
        if get(run, "partial"):
            detail.append('<span class="badge b-fail">PARTIAL</span>')
        head.append(f'<th class="num">{esc(label)}<small class="d">{" ".join(detail)}</small></th>')
    body = "".join(f'<tr><th class="metric">{esc(label)}{f"<small>{esc(sub)}</small>" if sub else ""}</th>'
                   f'{"".join(cells)}</tr>' for label, sub, cells in rows)
    table = (f'<div class="tablewrap"><table class="cmp" style="{_table_width(len(docs))}"><thead>'
             f'<tr>{"".join(head)}</tr></thead><tbody>{body}</tbody></table></div>')
    return _section("headline", "Side by side", table,
                "Availability is the share of time the thing worked; nines = −log10(1 − availability). "
                "“Exact” is computed from the failure rates without simulation and should sit inside the interval.")


def _table_width(n: int) -> str:
    return f"max-width:{METRIC_COL + VARIANT_COL * n}px"


def _elections_per_year(r: dict) -> float | None:
    le = get(r, "control_plane", "leader_elections", default={})
    per_year = num(get(le, "per_year"))
    years = simulated_years(get(r, "run", default={}))
    if per_year is None and num(get(le, "count")) is not None and years:
        per_year = num(le["count"]) / years
    return per_year


def _notes(docs: list[dict], sizes: bool) -> str:
    parts = [f"<p>{esc(CRN_NOTE)} Differences between variants are therefore measured more precisely than "
             "their separate 95% intervals suggest: overlapping intervals do not by themselves mean no "
             "difference.</p>"]
    if any(get(r, "control_plane", "availability", "method") == "control-variate" for r in docs):
        parts.append("<p>API availability is a control-variate estimate: the exact etcd quorum availability, "
                     "minus the time the simulation shows the API down while quorum held (leader elections, "
                     "unreachable apiservers). It is unbiased and much tighter than counting simulated downtime "
                     "alone, which is kept in comparison.json as <code>control_plane.availability.monte_carlo</code> of each variant.</p>")
    if sizes:
        by_members = {int(num(get(r, "control_plane", "members"))): r for r in docs}  # type: ignore[arg-type]
        pairs = []
        for n, r in sorted(by_members.items()):
            if n % 2 == 0 and n - 1 in by_members:
                odd = by_members[n - 1]
                tol_even = get(r, "control_plane", "tolerates")
                tol_odd = get(odd, "control_plane", "tolerates")
                text = f"{n} members tolerate {esc(format_count(tol_even)) if tol_even is not None else 'n/a'}"
                text += f", {n - 1} tolerate {esc(format_count(tol_odd)) if tol_odd is not None else 'n/a'}"
                a_e = get(r, "control_plane", "availability", "estimate")
                a_o = get(odd, "control_plane", "availability", "estimate")
                text += f" (API availability {_availability(a_e)} against {_availability(a_o)})"
                pairs.append(text)
        here = f" Here: {'; '.join(pairs)}." if pairs else ""
        parts.append(f'<p class="why"><b>Why even sizes do not help.</b> {esc(ETCD_SIZES_NOTE)}{here}</p>')
    return _section("notes", "How to compare", f'<div class="notes">{"".join(parts)}</div>')


def _charts(docs: list[dict], labels: list[str], figs: _Figures) -> str:
    out = []
    fig = _availability_figure(docs, labels)
    if fig is not None:
        plot = figs.add(fig, 420, "API availability in nines per variant <small>error bars: 95% interval; "
                                  "a triangle at ∞ is a run without downtime</small>")
    else:
        plot = _empty("No availability figures in the results.")
    out.append(_section("availability", "Availability", plot,
                    "Higher is better; each step up is ten times less downtime. Hollow diamonds mark the exact etcd "
                    "quorum availability, which the API can only approach (elections also cost a little)."))
    down = _downtime_figure(docs, labels)
    commit = _commit_figure(docs, labels)
    grid = [
        figs.add(down, 360, "API downtime per year <small>minutes, with 95% interval</small>") if down is not None
        else f'<div><h3 class="plot-title">API downtime per year</h3>{_empty("No downtime figures.")}</div>',
        figs.add(commit, 360, "Write commit latency <small>p50 and p99</small>") if commit is not None
        else f'<div><h3 class="plot-title">Write commit latency</h3>{_empty("No commit latency figures.")}</div>',
    ]
    out.append(_section("downtime", "Downtime and commit latency", f'<div class="grid2">{"".join(grid)}</div>',
                    "Downtime is what the availability means in minutes a year. Commits wait for the slowest "
                    "member of the quorum, so more members, or members farther apart, cost latency."))
    return "".join(out)


def _workloads(docs: list[dict], labels: list[str], figs: _Figures) -> str:
    names = _workload_names(docs)
    if not names:
        return ""
    fig = _workload_figure(docs, labels, names)
    plot = figs.add(fig, 380, "Workload availability in nines per variant <small>95% interval</small>") \
        if fig is not None else ""
    head = "<tr><th>workload</th>" + "".join(f'<th class="num">{esc(label)}</th>' for label in labels) + "</tr>"
    rows = []
    for name in names:
        cells = []
        for r in docs:
            w = _workload(r, name)
            av = get(w, "availability", default={})
            est = get(av, "estimate")
            if not w or num(est) is None:
                cells.append('<td class="num muted">—</td>')
                continue
            detail = _nines_detail(est)
            if _ci(get(av, "ci95")):
                detail += f"<br>{format_availability_interval_distinct(av['ci95'])}"
            cells.append(_cell(_availability(est), detail))
        kind = get(next((_workload(r, name) for r in docs if _workload(r, name)), {}), "kind")
        kind_html = f"<small>{esc(kind)}</small>" if kind else ""
        rows.append(f'<tr><th class="metric">{esc(name)}{kind_html}</th>{"".join(cells)}</tr>')
    table = (f'<div class="tablewrap" style="margin-top:10px"><table class="cmp" style="{_table_width(len(docs))}">'
             f'<thead>{head}</thead>'
             f'<tbody>{"".join(rows)}</tbody></table></div>')
    return _section("workloads", "Workloads", plot + table,
                "Share of time each workload had at least its minAvailable replicas ready, per variant.")


def _advisory_section(docs: list[dict], labels: list[str]) -> str:
    """Which advisory codes each variant raises (codes that tell variants apart first), then the messages."""
    codes: dict[str, str] = {}
    per_variant = [{code: n for code, _, n in _advisory_codes(r)} for r in docs]
    for r in docs:
        for code, sev, _ in _advisory_codes(r):
            if code not in codes or SEVERITY_ORDER.get(sev, 3) < SEVERITY_ORDER.get(codes[code], 3):
                codes[code] = sev
    if not codes:
        return _section("advisories", "Advisories", _empty("No advisories in any variant."))
    first = {code: min(i for i, pv in enumerate(per_variant) if code in pv) for code in codes}
    order = sorted(codes, key=lambda c: (all(c in pv for pv in per_variant), SEVERITY_ORDER.get(codes[c], 3),
                                         first[c], c))
    head = ('<tr><th>advisory</th>' + "".join(f'<th class="num">{esc(label)}</th>' for label in labels) + "</tr>")
    rows = []
    for code in order:
        cls = SEVERITY_BADGE.get(codes[code], "b-info")
        cells = []
        for pv in per_variant:
            n = pv.get(code)
            cells.append(f'<td class="num"><span class="badge {cls} mark">{"✓" if n == 1 else f"×{n}"}</span></td>'
                         if n else '<td class="num muted">—</td>')
        rows.append(f'<tr><th class="metric"><code>{esc(code)}</code><small>{esc(codes[code])}</small></th>'
                    f'{"".join(cells)}</tr>')
    matrix = (f'<div class="tablewrap"><table class="cmp" style="{_table_width(len(docs))}"><thead>{head}</thead>'
              f'<tbody>{"".join(rows)}</tbody></table></div>')
    lists = []
    for label, r in zip(labels, docs):
        items = []
        for a in sorted(_advisories(r), key=lambda a: SEVERITY_ORDER.get(str(get(a, "severity", default="info")), 3)):
            sev = str(get(a, "severity", default="info"))
            items.append(f'<li class="{esc(sev)}"><span class="badge {SEVERITY_BADGE.get(sev, "b-info")}">'
                         f'{esc(sev.upper())}</span><span>{esc(get(a, "message", default=""))} '
                         f'<code class="code muted">{esc(get(a, "code", default=""))}</code></span></li>')
        body = f'<ul class="advisories">{"".join(items)}</ul>' if items else _empty("No advisories.")
        lists.append(f"<h3>{esc(label)}</h3>{body}")
    details = f'<details><summary>The messages, variant by variant</summary>{"".join(lists)}</details>'
    return _section("advisories", "Advisories", matrix + details,
                "Which advisories each variant raises (✓ once, ×n several times); those that tell the variants "
                "apart come first.")


def _footer(docs: list[dict]) -> str:
    version = get(docs[0], "kchaos_version", default="unknown") if docs else "unknown"
    return (f"<footer><h3>How to read this</h3><p>{esc(ASSUMPTIONS)}</p>"
            f"<p>Generated by kchaos {esc(version)} · the same numbers are in comparison.json next to this page, "
            "one results document per variant.</p></footer>")


def render_comparison_html(results: list[dict]) -> str:
    """The comparison page for a list of results documents, as a self-contained HTML string."""
    docs = _docs(results)
    labels = _labels(docs)
    sizes = _is_etcd_sizes(docs)
    figs = _Figures()
    if docs:
        body = "".join([
            _header(docs, labels, sizes),
            _headline(docs, labels),
            _notes(docs, sizes),
            _charts(docs, labels, figs),
            _workloads(docs, labels, figs),
            _advisory_section(docs, labels),
            _footer(docs),
        ])
    else:
        body = ('<header><h1>kchaos comparison</h1></header>'
                + _section("headline", "Side by side", _empty("No variants to compare.")))
    names = []
    for r in docs:
        n = str(get(r, "topology", "name", default="topology"))
        if n not in names:
            names.append(n)
    title = f"kchaos compare: {', '.join(names) or 'no variants'}"
    return (
        "<!DOCTYPE html>\n<html lang=\"en\"><head><meta charset=\"utf-8\">"
        "<meta name=\"viewport\" content=\"width=device-width, initial-scale=1\">"
        f"<title>{esc(title)}</title><style>{CSS}{COMPARE_CSS}</style>"
        f"<script>{plotly_bundle()}</script></head>"
        f"<body><main>{body}</main>{figs.script()}</body></html>\n"
    )


# ---------------------------------------------------------------- terminal


def _avail_text(a: Any) -> Text:
    v = num(a)
    if v is None:
        return Text("n/a", style="dim")
    if v >= 1:
        return Text.assemble(("100%", "bold green"), ("\n∞ nines", "green"))
    return Text.assemble((format_availability(v), "bold"), (f"\n{_nines_text(v)}", "cyan"))


WIDE_CONSOLE = 165
NARROW_CONSOLE = 100


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
    if _ci(get(down, "ci95")):
        d_text.append("\n" + format_interval_distinct(down["ci95"]), style="dim")
    le = get(cp, "leader_elections", default={})
    e_text = Text(format_number(_elections_per_year(r)))
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
        "pending\npod-h/year": Text(format_number(_pod_hours_per_year(r))),
    }


AVAILABILITY_COLUMNS = ["etcd", "API availability", "95% interval", "quorum\nexact", "downtime\nper year"]
LOAD_COLUMNS = ["elections\nper year", "commit\np50 / p99", "hottest\nnode p95", "above\nlimit",
                "pending\npod-h/year"]
NO_WRAP = {"etcd", "API availability", "95% interval", "quorum\nexact", "hottest\nnode p95", "commit\np50 / p99"}


def _terminal_table(title: Text | None, labels: list[str], docs: list[dict], rows: list[dict[str, Text]],
                    columns: list[str]) -> Table:
    table = Table(title=title, title_justify="left", box=box.SIMPLE_HEAD, show_edge=False, pad_edge=False)
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


def _print_advisory_codes(docs: list[dict], labels: list[str], console: Console) -> None:
    """Codes raised by every variant once, then per variant the codes that set it apart."""
    per_variant = [_advisory_codes(r) for r in docs]
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
    docs = _docs(results)
    labels = _labels(docs)
    sizes = _is_etcd_sizes(docs)
    names: list[str] = []
    for r in docs:
        n = str(get(r, "topology", "name", default="topology"))
        if n not in names:
            names.append(n)
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
    first = [c for c in AVAILABILITY_COLUMNS if not (narrow and c == "95% interval")]
    if console.width >= WIDE_CONSOLE:
        console.print(_terminal_table(title, labels, docs, rows, first + LOAD_COLUMNS))
    else:
        console.print(_terminal_table(title, labels, docs, rows, first))
        console.print()
        console.print(_terminal_table(None, labels, docs, rows, LOAD_COLUMNS))
    _print_advisory_codes(docs, labels, console)
    console.print(Text(CRN_NOTE, style="dim"))
    if sizes:
        console.print(Text("Even sizes tolerate no more failures than the odd size below them, and have one more "
                           "member to fail.", style="dim"))
    if report_path:
        console.print(Text.assemble(("Report: ", "bold"), (str(report_path), "underline")))


__all__ = ["print_comparison", "render_comparison_html"]
