"""Plotly figures of the comparison page: nines per variant, downtime, commit latency, workloads.

Variant labels are category names on the x axis; like every text from the
topology inside a figure they are escaped with :func:`esc`.
"""

from __future__ import annotations

import math
from typing import Any

import plotly.graph_objects as go

from kchaos.report.figures import BLUE, GREEN, MUTED, ORANGE, PURPLE, RED, TEAL, base_layout, esc
from kchaos.report.formatting import (
    format_availability,
    format_availability_interval_distinct,
    format_interval_distinct,
    format_minutes,
    format_ms,
    format_number,
    get,
    nines,
    num,
)
from kchaos.report.reading import ci_pair, nines_text, workload


def nines_figure(labels: list[str], series: list[dict], grouped: bool = False) -> go.Figure | None:
    """Nines per variant with asymmetric 95% error bars.

    ``series``: dicts with name, colour, symbol, values (availabilities) and
    optional cis. A perfect record (∞ nines) is drawn on a separate ∞ line at
    the top, so nothing is lost or broken off the axis.
    """
    points = [num(a) for s in series for a in s["values"]]
    points += [end for s in series for pair in s.get("cis") or [] if (c := ci_pair(pair)) is not None for end in c]
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
        for label, a, pair in zip(labels, s["values"], cis):
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
            text = f"<b>{esc(label)}</b><br>{esc(s['name'])}: {format_availability(v)} · {nines_text(v)}"
            if math.isinf(n):
                text += " (no downtime observed)"
            c = ci_pair(pair)
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
    layout = base_layout(
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


def availability_figure(docs: list[dict], labels: list[str]) -> go.Figure | None:
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
    return nines_figure(labels, series)


def downtime_figure(docs: list[dict], labels: list[str]) -> go.Figure | None:
    est = [num(get(r, "control_plane", "downtime_minutes_per_year", "estimate")) for r in docs]
    cis = [ci_pair(get(r, "control_plane", "downtime_minutes_per_year", "ci95")) for r in docs]
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
    fig = go.Figure(traces, layout=base_layout(
        xaxis=dict(type="category"), yaxis=yaxis, bargap=0.35, hovermode="closest",
        showlegend=False, margin=dict(l=60, r=20, t=24, b=50)))
    for xc, v in zip(x_cat, est):
        if v is None:
            continue
        if v == 0:
            fig.add_annotation(x=xc, y=0, yref="paper", yanchor="bottom", yshift=2, text="none<br>observed",
                               showarrow=False, font=dict(size=11, color=GREEN), bgcolor="rgba(255,255,255,0.9)")
    return fig


def commit_figure(docs: list[dict], labels: list[str]) -> go.Figure | None:
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
            hovertext=[f"<b>{esc(lab)}</b><br>commit {name} {format_ms(v)}" for lab, v in zip(labels, clean)],
            hoverinfo="text"))
    finite = [v for v in p50 + p99 if v is not None and math.isfinite(v)]
    return go.Figure(traces, layout=base_layout(
        showlegend=True, legend=dict(orientation="h", x=0, xanchor="left", y=1.0, yanchor="bottom"),
        barmode="group", bargap=0.3, xaxis=dict(type="category"),
        yaxis=dict(title=dict(text="write commit latency (ms)"), rangemode="tozero",
                   range=[0, (max(finite) if finite else 1) * 1.2]),
        margin=dict(l=60, r=20, t=40, b=50)))


def workload_figure(docs: list[dict], labels: list[str], names: list[str]) -> go.Figure | None:
    palette = [TEAL, BLUE, ORANGE, PURPLE, "#db2777", "#65a30d", "#0891b2", "#9333ea"]
    symbols = ["circle", "square", "diamond", "triangle-down", "hexagon", "star", "cross", "x"]
    series = []
    for i, name in enumerate(names):
        ws = [workload(r, name) for r in docs]
        series.append(dict(name=name, colour=palette[i % len(palette)], symbol=symbols[i % len(symbols)],
                           values=[get(w, "availability", "estimate") for w in ws],
                           cis=[get(w, "availability", "ci95") for w in ws]))
    return nines_figure(labels, series, grouped=len(series) > 1)
