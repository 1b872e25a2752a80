"""Plotly figures for the pages: the shared look, histograms, and the run report's figures.

A :class:`FigureSet` collects the figures of one page; the template draws a
placeholder for each and passes all of them, as JSON, to one script at the end.

Plotly renders trace labels and hover text as a little HTML, so text from the
topology that goes into a figure is escaped with :func:`esc` (plotly decodes
the entities for display). The JSON itself is made safe for a ``<script>``
block by the template's ``tojson`` filter.
"""

from __future__ import annotations

import html
import json
import math
from typing import Any, Callable

import plotly.graph_objects as go
import plotly.io as pio

from kchaos.report.formatting import format_availability, format_count, get, num
from kchaos.report.reading import as_list

FONT = '-apple-system, "Segoe UI", Roboto, "Helvetica Neue", Arial, sans-serif'
INK = "#1f2933"
MUTED = "#616e7c"
GRID = "#e4e7eb"
BLUE = "#2563eb"
ORANGE = "#ea580c"
RED = "#dc2626"
GREEN = "#16a34a"
PURPLE = "#7c3aed"
TEAL = "#0d9488"

ROLE_COLOURS = {
    "control-plane": ORANGE,
    "etcd": PURPLE,
    "apiserver": TEAL,
    "worker": BLUE,
}
ROLE_LABELS = {
    "control-plane": "control-plane node (etcd member)",
    "etcd": "etcd node",
    "apiserver": "apiserver node",
    "worker": "worker node",
}
LEVEL_COLOURS = {
    "region": "#334e68",
    "datacenter": "#627d98",
    "rack": "#9fb3c8",
    "server": "#d9e2ec",
}
EMPTY_SERVER = "#f0f4f8"


def esc(value: Any) -> str:
    """Text for a plot label or hover: HTML-escaped (None becomes an empty string)."""
    return html.escape("" if value is None else str(value), quote=True)


class FigureSet:
    """The figures of one page, in the order they appear."""

    def __init__(self) -> None:
        self.items: list[tuple[str, go.Figure]] = []

    def add(self, fig: go.Figure, height: int, title: list | None = None) -> dict:
        """Register ``fig``; returns its placeholder for the template (``title``: inline pieces)."""
        div_id = f"kchaos-fig-{len(self.items)}"
        fig.update_layout(height=height)
        self.items.append((div_id, fig))
        return {"id": div_id, "height": height, "title": title or []}

    def specs(self) -> list[dict]:
        """Every figure as {id, data, layout}, plain JSON values."""
        out = []
        for div_id, fig in self.items:
            spec = json.loads(pio.to_json(fig, validate=False))
            out.append({"id": div_id, "data": spec.get("data", []), "layout": spec.get("layout", {})})
        return out


def base_layout(**extra: Any) -> dict:
    """The common look of every figure; ``xaxis``/``yaxis`` dicts are merged, anything else replaced."""
    axis = dict(gridcolor=GRID, linecolor="#9aa5b1", zeroline=False, ticks="outside", tickcolor="#9aa5b1",
                automargin=True, title=dict(font=dict(size=13, color="#3e4c59")))
    layout = dict(
        template=go.layout.Template(),
        font=dict(family=FONT, size=12, color=INK),
        paper_bgcolor="#ffffff",
        plot_bgcolor="#ffffff",
        margin=dict(l=60, r=20, t=24, b=50),
        showlegend=False,
        hoverlabel=dict(font=dict(family=FONT, size=12)),
        xaxis=dict(axis),
        yaxis=dict(axis),
    )
    for key, value in extra.items():
        if key in ("xaxis", "yaxis") and isinstance(value, dict):
            layout[key] = {**layout[key], **value}
        else:
            layout[key] = value
    return layout


def _histogram(hist: Any) -> tuple[list[float], list[float]] | None:
    """(edges, counts) when the histogram is usable, else None."""
    edges = get(hist, "edges")
    counts = get(hist, "counts")
    if not isinstance(edges, list) or not isinstance(counts, list) or not counts:
        return None
    e = [num(x) for x in edges]
    c = [num(x) or 0.0 for x in counts]
    if len(e) != len(c) + 1 or any(x is None or not math.isfinite(x) for x in e) or sum(c) <= 0:
        return None
    first = next(i for i, x in enumerate(c) if x > 0)  # drop empty bins at both ends
    last = max(i for i, x in enumerate(c) if x > 0)
    return e[first:last + 2], c[first:last + 1]  # type: ignore[return-value]


def histogram_figure(
    hist: Any,
    *,
    x_title: str,
    fmt: Callable[[float], str],
    colour: str,
    scale: float = 1.0,
    vline: tuple[float, str] | None = None,
    years: float | None = None,
) -> go.Figure | None:
    """Bars for a pre-binned histogram; uneven bins become labelled categories. ``years``: the
    simulated years, so that counts are drawn per year (natural rates: an importance-sampled
    run's counts are weighted, and over the run's length they would read as draws)."""
    parsed = _histogram(hist)
    if parsed is None:
        return None
    edges, counts = parsed
    per_year = years is not None and years > 0
    if per_year:
        counts = [c / years for c in counts]  # type: ignore[operator]
    edges = [x * scale for x in edges]
    total = sum(counts)
    widths = [b - a for a, b in zip(edges, edges[1:])]
    uniform = all(w > 0 for w in widths) and max(widths) - min(widths) <= 0.01 * max(widths)
    ranges = [f"{fmt(a)} – {fmt(b)}" for a, b in zip(edges, edges[1:])]
    shares = not per_year and abs(total - 1.0) < 1e-6 and any(0 < c < 1 for c in counts)  # shares of time
    if shares:
        hover = [f"{r}<br>{c:.1%} of the time" for r, c in zip(ranges, counts)]
    elif per_year:
        hover = [f"{r}<br>{c:.3g} a year ({c / total:.1%})" for r, c in zip(ranges, counts)]
    else:
        hover = [f"{r}<br>{format_count(c)} ({c / total:.1%})" for r, c in zip(ranges, counts)]
    bar: dict[str, Any] = dict(
        y=counts, marker=dict(color=colour, line=dict(width=0)), hovertext=hover, hoverinfo="text"
    )
    # One dominant bin would flatten the rest (e.g. "no change" after most failures): use a log axis.
    log_y = max(counts) > 0.75 * total and sum(1 for c in counts if c > 0) > 1
    layout = base_layout(
        xaxis=dict(title=dict(text=x_title)),
        yaxis=dict(title=dict(text=("share of time" if shares else "per year" if per_year else "count")
                              + (" (log scale)" if log_y else "")),
                   **({"type": "log", "dtick": 1} if log_y else {"rangemode": "tozero"}),
                   **({"tickformat": ".0%"} if shares and not log_y else {})),
        bargap=0.04,
    )
    if uniform:
        bar.update(x=[(a + b) / 2 for a, b in zip(edges, edges[1:])], width=[w * 0.96 for w in widths])
    else:  # uneven (geometric) bins: one category per bin, labelled by its lower edge, a few of them
        labels = [fmt(a) for a in edges[:-1]]
        bar.update(x=list(range(len(labels))))
        step = max(1, len(labels) // 8)
        layout["xaxis"].update(tickmode="array", tickvals=list(range(0, len(labels), step)),
                               ticktext=labels[::step], tickangle=0)
        if edges[0] > 0 and widths[-1] > 1.5 * widths[0]:
            layout["xaxis"]["title"]["text"] = f"{x_title} (log scale)"
    fig = go.Figure(go.Bar(**bar), layout=layout)
    if vline is not None and uniform:
        x, label = vline
        lo, hi = min(edges[0], x), max(edges[-1], x)
        fig.add_vline(x=x, line=dict(color=RED, width=2, dash="dash"))
        right = x > (lo + hi) / 2  # its label reads towards the middle, so it never runs off the plot
        fig.add_annotation(x=x, y=1, yref="paper", text=label, showarrow=False, xanchor="right" if right else "left",
                           yanchor="bottom", xshift=-4 if right else 4, font=dict(color=RED, size=12))
        pad = 0.04 * (hi - lo or 1.0)
        fig.update_xaxes(range=[lo - pad, hi + pad])
    return fig


# ---------------------------------------------------------------- the run report


def topology_rows(r: dict) -> list[dict]:
    """The topology tree entries that have an id."""
    return [t for t in as_list(get(r, "topology", "tree")) if isinstance(t, dict) and get(t, "id") is not None]


def topology_figure(r: dict, rows: list[dict]) -> tuple[go.Figure, set[str]]:
    """The sunburst of the topology tree, and the node roles it draws."""
    ids = {str(t["id"]) for t in rows}
    root_id = "kchaos-root"
    while root_id in ids:
        root_id += "_"
    topo_name = get(r, "topology", "name", default="cluster")
    f_ids, f_parents, f_labels, f_colours = [root_id], [""], [esc(topo_name)], ["#ffffff"]
    f_hover = [f"<b>{esc(topo_name)}</b>"]
    seen: set[str] = set()
    roles_seen: set[str] = set()
    for t in rows:
        tid = str(t["id"])
        if tid in seen:
            continue
        seen.add(tid)
        parent = str(get(t, "parent", default=""))
        kind = str(get(t, "kind", default=""))
        role = get(t, "role")
        members = num(get(t, "members")) or 0
        nodes = num(get(t, "nodes")) or 0
        if kind == "node" or role:
            role = str(role or ("control-plane" if members else "worker"))
            colour = ROLE_COLOURS.get(role, TEAL)
            roles_seen.add(role)
        elif kind == "server" and not nodes:
            colour = EMPTY_SERVER
        else:
            colour = LEVEL_COLOURS.get(kind, "#bcccdc")
        f_ids.append(tid)
        f_parents.append(parent if parent in ids else root_id)
        f_labels.append(esc(get(t, "name", default=tid)))
        lines = [f"<b>{esc(get(t, 'name', default=tid))}</b> ({esc(kind)}{', ' + esc(role) if role else ''})"]
        lines.append(f"etcd members: {format_count(members)}")
        if kind != "node":
            lines.append(f"nodes: {format_count(nodes)}")
        lines.append(f"pods: {format_count(get(t, 'pods', default=0))}")
        f_hover.append("<br>".join(lines))
        f_colours.append(colour)
    fig = go.Figure(
        go.Sunburst(
            ids=f_ids, parents=f_parents, labels=f_labels,
            marker=dict(colors=f_colours, line=dict(color="#ffffff", width=1)),
            customdata=f_hover, hovertemplate="%{customdata}<extra></extra>",
            insidetextorientation="auto", sort=False,
        ),
        layout=base_layout(margin=dict(l=10, r=10, t=10, b=10)),
    )
    return fig, roles_seen


def load_figure(load: Any, years: float | None = None) -> go.Figure | None:
    """The hottest node's utilisation after each change of state, with the limit and the baseline."""
    limit = num(get(load, "limit"))
    fig = histogram_figure(
        get(load, "max_node_utilization", "histogram"),
        x_title="hottest node utilisation (requested / capacity)",
        fmt=lambda x: f"{x:.0f}%", colour=BLUE, scale=100.0,
        vline=(limit * 100, f"limit {limit:.0%}") if limit is not None else None, years=years,
    )
    if fig is None:
        return None
    fig.update_layout(xaxis=dict(ticksuffix="%"))
    base = num(get(load, "baseline_max_node_utilization"))
    if base is not None and math.isfinite(base) and fig.layout.xaxis.type != "category":
        fig.add_vline(x=base * 100, line=dict(color=MUTED, width=1.5, dash="dot"))
        fig.add_annotation(x=base * 100, y=1, yref="paper", yanchor="bottom", text=f"before failures {base:.0%}",
                           showarrow=False, xanchor="left", xshift=-4, font=dict(color=MUTED, size=12),
                           bgcolor="rgba(255,255,255,0.85)")
        lo, hi = fig.layout.xaxis.range or (base * 100, base * 100)
        if not lo <= base * 100 <= hi:
            lo, hi = min(lo, base * 100), max(hi, base * 100)
            fig.update_xaxes(range=[lo - 0.04 * (hi - lo), hi + 0.04 * (hi - lo)])
    return fig


def convergence_figure(r: dict) -> tuple[go.Figure | None, str]:
    """API unavailability as failures accumulate; (None, why) when there is nothing to draw."""
    conv = get(r, "convergence", default={})
    xs = get(conv, "failures", default=[])
    ys = get(conv, "unavailability", default=[])
    if not isinstance(xs, list) or not isinstance(ys, list) or not xs or len(xs) != len(ys):
        return None, "No convergence series in the results."

    def positive(seq: Any) -> list[float | None]:
        seq = seq if isinstance(seq, list) and len(seq) == len(xs) else [None] * len(xs)
        return [v if (v := num(x)) is not None and 0 < v < math.inf else None for x in seq]

    y, lo, hi = positive(ys), positive(get(conv, "ci_low")), positive(get(conv, "ci_high"))
    x = [v if (v := num(f)) is not None and math.isfinite(v) else None for f in xs]
    traces = []
    if any(v is not None for v in hi):
        lo_filled = [low if low is not None else yy for low, yy in zip(lo, y)]
        traces.append(go.Scatter(x=x, y=hi, mode="lines", line=dict(width=0), hoverinfo="skip", showlegend=False,
                                 connectgaps=True))
        traces.append(go.Scatter(x=x, y=lo_filled, mode="lines", line=dict(width=0), fill="tonexty",
                                 fillcolor="rgba(37,99,235,0.15)", name="95% interval", hoverinfo="skip",
                                 connectgaps=True))
    hover = [
        f"{format_count(f)} failures<br>unavailability {u:.3g} ({format_availability(1 - u)})"
        + (f"<br>95% interval [{a:.3g} – {b:.3g}]" if a is not None and b is not None else "")
        if u is not None else f"{format_count(f)} failures<br>no downtime yet"
        for f, u, a, b in zip(x, y, lo, hi)
    ]
    traces.append(go.Scatter(x=x, y=y, mode="lines+markers", name="estimate", line=dict(color=BLUE, width=2),
                             marker=dict(size=5), hovertext=hover, hoverinfo="text"))
    exact = num(get(conv, "analytic"))
    exact = exact if exact is not None and math.isfinite(exact) else None
    if exact is None:
        a_exact = num(get(r, "control_plane", "availability", "analytic"))
        exact = 1 - a_exact if a_exact is not None else None
    if exact is not None and not 0 < exact < math.inf:
        exact = None
    if exact is not None and any(v is not None for v in x):
        xv = [v for v in x if v is not None]
        traces.append(go.Scatter(x=[min(xv), max(xv)], y=[exact, exact], mode="lines",
                                 name=f"analytic {exact:.3g}", line=dict(color=RED, dash="dash", width=1.5),
                                 hovertext=f"analytic unavailability {exact:.3g} ({format_availability(1 - exact)})",
                                 hoverinfo="text"))
    xv = [v for v in x if v is not None and v > 0]
    log_x = bool(xv) and max(xv) / min(xv) > 50
    if all(v is None for v in y + lo + hi) and exact is None:
        return None, ("No API downtime observed at any point of the run, so there is nothing to draw "
                      "on a log scale.")
    values = [v for v in y + lo + hi + [exact] if v is not None and v > 0]
    k_lo, k_hi = math.floor(math.log10(min(values))), math.ceil(math.log10(max(values)))
    tickvals = [10.0 ** k for k in range(k_lo, k_hi + 1)]
    ticktext = [f"1e{k} · {-k} nines" if k < 0 else f"1e{k}" for k in range(k_lo, k_hi + 1)]
    layout = base_layout(
        showlegend=True,
        legend=dict(orientation="h", x=0, xanchor="left", y=1.0, yanchor="bottom"),
        xaxis=dict(title=dict(text="failures injected"), type="log" if log_x else "linear",
                   **({"dtick": "D2"} if log_x else {})),
        yaxis=dict(title=dict(text="unavailability (log scale)"), type="log", tickvals=tickvals, ticktext=ticktext,
                   range=[k_lo, k_hi]),  # whole decades, so a narrow band still has labelled ticks
        hovermode="closest",
        margin=dict(l=60, r=20, t=40, b=50),
    )
    return go.Figure(traces, layout=layout), ""
