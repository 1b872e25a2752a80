"""The self-contained HTML report (index.html) rendered from a results document.

One page, no network: plotly.js is inlined once and every figure is drawn
from JSON by ``Plotly.newPlot``. Every string that came from the topology is
escaped with :func:`html.escape`, in the page and inside plot labels.
"""

from __future__ import annotations

import html
import json
import math
from functools import lru_cache
from typing import Any, Callable

import plotly.graph_objects as go
import plotly.io as pio
from plotly.offline import get_plotlyjs

from kchaos.report.formatting import (
    HOURS_PER_YEAR,
    format_availability,
    format_availability_interval,
    format_availability_interval_distinct,
    format_interval_distinct,
    format_count,
    format_duration,
    format_fraction_of_time,
    format_interval,
    format_minutes,
    format_ms,
    format_nines,
    format_number,
    format_percent,
    format_seconds,
    get,
    significant,
    num,
    simulated_years,
)

MAX_DOMAIN_ROWS = 50

FONT = '-apple-system, "Segoe UI", Roboto, "Helvetica Neue", Arial, sans-serif'
INK = "#1f2933"
MUTED = "#616e7c"
GRID = "#e4e7eb"
BLUE = "#2563eb"
ORANGE = "#ea580c"
RED = "#dc2626"
GREEN = "#16a34a"
PURPLE = "#7c3aed"

ROLE_COLOURS = {
    "control-plane": ORANGE,
    "etcd": PURPLE,
    "apiserver": "#0d9488",
    "worker": BLUE,
}
LEVEL_COLOURS = {
    "region": "#334e68",
    "datacenter": "#627d98",
    "rack": "#9fb3c8",
    "server": "#d9e2ec",
}
EMPTY_SERVER = "#f0f4f8"

CSS = """
*{box-sizing:border-box}
body{margin:0;background:#f5f7fa;color:#1f2933;font:15px/1.5 -apple-system,"Segoe UI",Roboto,"Helvetica Neue",Arial,sans-serif}
main{max-width:1360px;margin:0 auto;padding:28px 32px 40px}
h1{font-size:28px;margin:0 0 4px;letter-spacing:-.01em}
h2{font-size:19px;margin:0 0 4px}
h3{font-size:15px;margin:0 0 6px}
p{margin:4px 0}
code,.mono{font-family:ui-monospace,SFMono-Regular,Menlo,Consolas,monospace;font-size:.9em}
.muted{color:#616e7c}
.lead{font-size:16px;color:#3e4c59;margin-bottom:8px}
header{margin-bottom:18px}
.facts{display:flex;flex-wrap:wrap;gap:6px 18px;color:#52606d;font-size:14px;margin-top:8px}
.facts b{color:#1f2933;font-weight:600}
.partial{background:#fde8e8;border:2px solid #dc2626;color:#9b1c1c;border-radius:8px;padding:10px 14px;margin:12px 0;font-weight:600}
section{background:#fff;border:1px solid #e4e7eb;border-radius:10px;padding:18px 22px;margin:0 0 18px}
section>.sub{color:#616e7c;font-size:14px;margin:0 0 12px}
.cards{display:grid;grid-template-columns:repeat(auto-fill,minmax(250px,1fr));gap:12px}
.card{border:1px solid #e4e7eb;border-radius:8px;padding:12px 14px;background:#fff;break-inside:avoid}
.card.primary{border-left:5px solid #2563eb}
.card.workload{border-left:5px solid #0d9488}
.card .label{font-size:12px;text-transform:uppercase;letter-spacing:.05em;color:#616e7c;font-weight:600}
.card .value{font-size:24px;font-weight:650;margin:2px 0;font-variant-numeric:tabular-nums;line-height:1.25}
.card .value small{font-size:15px;font-weight:500;color:#3e4c59}
.card .detail{font-size:13px;color:#52606d;font-variant-numeric:tabular-nums}
.subhead{margin:16px 0 8px;font-size:13px;text-transform:uppercase;letter-spacing:.05em;color:#616e7c;font-weight:600}
table{border-collapse:collapse;width:100%;font-size:14px;font-variant-numeric:tabular-nums}
th,td{padding:6px 10px;border-bottom:1px solid #e4e7eb;text-align:left;vertical-align:top}
th{background:#f5f7fa;font-weight:600;font-size:13px;color:#3e4c59;white-space:nowrap}
td.num,th.num{text-align:right}
tr.bad td{background:#fff5f5}
.badge{display:inline-block;border-radius:999px;padding:1px 9px;font-size:12px;font-weight:700;letter-spacing:.03em;white-space:nowrap}
.b-pass{background:#dcfce7;color:#166534}
.b-fail{background:#fee2e2;color:#991b1b}
.b-warn{background:#fef3c7;color:#92400e}
.b-info{background:#dbeafe;color:#1e40af}
.hot{color:#dc2626;font-weight:600}
ul.advisories{list-style:none;margin:0;padding:0}
ul.advisories li{display:flex;gap:12px;align-items:baseline;padding:9px 12px;border-radius:6px;margin-bottom:6px;border-left:5px solid #93c5fd;background:#eff6ff}
ul.advisories li.warning{border-left-color:#f59e0b;background:#fffbeb}
ul.advisories li.error{border-left-color:#dc2626;background:#fef2f2}
ul.advisories .code{color:#52606d;white-space:nowrap}
.grid2{display:grid;grid-template-columns:1fr 1fr;gap:14px 22px}
.plot{width:100%;min-height:120px}
.plot-title{font-size:14px;font-weight:600;margin:4px 0 0}
.plot-title small{font-weight:400;color:#616e7c}
.topo{display:grid;grid-template-columns:minmax(0,3fr) minmax(280px,2fr);gap:10px 28px;align-items:start}
.card.workload .label{text-transform:none;letter-spacing:0;font-size:14px;color:#1f2933}
.legend{display:flex;flex-wrap:wrap;gap:6px 18px;font-size:13px;color:#3e4c59;margin-top:6px}
.swatch{display:inline-block;width:12px;height:12px;border-radius:3px;margin-right:5px;vertical-align:-1px}
.empty{color:#616e7c;font-style:italic;padding:8px 0}
footer{color:#52606d;font-size:13px;padding:6px 4px}
footer p{margin:6px 0;max-width:1100px}
@media (max-width:900px){.grid2,.topo{grid-template-columns:1fr}}
@media print{
 body{background:#fff;font-size:12px}
 main{max-width:none;padding:0}
 section{border:none;border-top:1px solid #cbd2d9;border-radius:0;padding:10px 0;break-inside:avoid-page}
 .card{border-color:#cbd2d9}
}
"""

ASSUMPTIONS = (
    "kchaos injects failures of nodes, servers, racks, datacenters, regions and links between regions, "
    "each failing and being repaired independently at the configured rates (exponential unless the "
    "topology says otherwise); a node is up only while everything above it is up, so correlation comes "
    "from the hierarchy. The API counts as available while etcd holds a quorum with an elected leader "
    "and an apiserver can reach it; elections follow etcd's Raft timers with pre-vote and check-quorum. "
    "A workload is available while its ready replicas are at least minAvailable; replacement pods follow "
    "Kubernetes' NotReady grace period, eviction, scheduling and PodTopologySpread rules, and do not move "
    "back after a repair. Intervals are 95% confidence intervals over independent simulated histories; "
    "“exact” and “analytic” values are computed without simulation and should sit inside them. "
    "Nines = −log10(1 − availability): 3 nines ≈ 8.8 h, 4 ≈ 53 min, 5 ≈ 5.3 min of downtime a year. "
    "These are estimates for the layout and failure rates given, not a guarantee."
)


@lru_cache(maxsize=1)
def plotly_bundle() -> str:
    """plotly.js as inlined in the page.

    The bundle's only plot.ly address is the default topojsonURL, used by geo
    maps (which the report never draws); it is pointed at a relative path so
    the page names no CDN at all.
    """
    return get_plotlyjs().replace('"https://cdn.plot.ly/un/"', '"topojson/"')


def esc(value: Any) -> str:
    """HTML-escape anything (None becomes an empty string)."""
    return html.escape("" if value is None else str(value), quote=True)


class _Figures:
    """Collects plotly figures; the page draws them all from one script at the end."""

    def __init__(self) -> None:
        self.items: list[tuple[str, go.Figure]] = []

    def add(self, fig: go.Figure, height: int, title_html: str = "") -> str:
        """Register ``fig``; returns its placeholder. ``title_html`` must already be escaped."""
        div_id = f"kchaos-fig-{len(self.items)}"
        fig.update_layout(height=height)
        self.items.append((div_id, fig))
        title = f'<h3 class="plot-title">{title_html}</h3>' if title_html else ""
        return f'<div class="figure">{title}<div class="plot" id="{div_id}" style="height:{height}px"></div></div>'

    def script(self) -> str:
        specs = []
        for div_id, fig in self.items:
            spec = json.loads(pio.to_json(fig, validate=False))
            specs.append({"id": div_id, "data": spec.get("data", []), "layout": spec.get("layout", {})})
        payload = json.dumps(specs, separators=(",", ":"))
        # Safe inside <script>: no tag or comment can be opened or closed from data.
        payload = payload.replace("<", "\\u003c").replace(">", "\\u003e").replace("&", "\\u0026")
        return (
            "<script>(function(){var figs=" + payload + ";"
            "var cfg={displaylogo:false,responsive:true,displayModeBar:false};"
            "figs.forEach(function(f){Plotly.newPlot(f.id,f.data,f.layout,cfg);});})();</script>"
        )


def _base_layout(**extra: Any) -> dict:
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


def _histogram_figure(
    hist: Any,
    *,
    x_title: str,
    fmt: Callable[[float], str],
    colour: str,
    scale: float = 1.0,
    vline: tuple[float, str] | None = None,
) -> go.Figure | None:
    """Bars for a pre-binned histogram; uneven bins become labelled categories."""
    parsed = _histogram(hist)
    if parsed is None:
        return None
    edges, counts = parsed
    edges = [x * scale for x in edges]
    total = sum(counts)
    widths = [b - a for a, b in zip(edges, edges[1:])]
    uniform = all(w > 0 for w in widths) and max(widths) - min(widths) <= 0.01 * max(widths)
    ranges = [f"{fmt(a)} – {fmt(b)}" for a, b in zip(edges, edges[1:])]
    shares = abs(total - 1.0) < 1e-6 and any(0 < c < 1 for c in counts)  # a distribution of time, not counts
    if shares:
        hover = [f"{r}<br>{c:.1%} of the time" for r, c in zip(ranges, counts)]
    else:
        hover = [f"{r}<br>{format_count(c)} ({c / total:.1%})" for r, c in zip(ranges, counts)]
    bar: dict[str, Any] = dict(
        y=counts, marker=dict(color=colour, line=dict(width=0)), hovertext=hover, hoverinfo="text"
    )
    # One dominant bin would flatten the rest (e.g. "no change" after most failures): use a log axis.
    log_y = max(counts) > 0.75 * total and sum(1 for c in counts if c > 0) > 1
    layout = _base_layout(
        xaxis=dict(title=dict(text=x_title)),
        yaxis=dict(title=dict(text=("share of time" if shares else "count") + (" (log scale)" if log_y else "")),
                   **({"type": "log", "dtick": 1} if log_y else {"rangemode": "tozero"}),
                   **({"tickformat": ".0%"} if shares and not log_y else {})),
        bargap=0.04,
    )
    if uniform:
        bar.update(x=[(a + b) / 2 for a, b in zip(edges, edges[1:])], width=[w * 0.96 for w in widths])
    else:
        bar.update(x=ranges)
        layout["xaxis"]["type"] = "category"
        layout["xaxis"]["tickangle"] = -30
    fig = go.Figure(go.Bar(**bar), layout=layout)
    if vline is not None and uniform:
        x, label = vline
        fig.add_vline(x=x, line=dict(color=RED, width=2, dash="dash"))
        fig.add_annotation(x=x, y=1, yref="paper", text=label, showarrow=False, xanchor="left",
                           yanchor="bottom", xshift=-4, font=dict(color=RED, size=12))
        lo, hi = min(edges[0], x), max(edges[-1], x)
        pad = 0.04 * (hi - lo or 1.0)
        fig.update_xaxes(range=[lo - pad, hi + pad])
    return fig


def _as_list(value: Any) -> list:
    return value if isinstance(value, list) else []


def _empty(text: str) -> str:
    return f'<p class="empty">{esc(text)}</p>'


def _section(section_id: str, title: str, body: str, sub: str = "", badge: str = "") -> str:
    sub_html = f'<p class="sub">{sub}</p>' if sub else ""
    return f'<section id="{section_id}"><h2>{esc(title)} {badge}</h2>{sub_html}{body}</section>'


def _card(label: str, value: str, details: list[str], cls: str = "") -> str:
    det = "".join(f'<div class="detail">{d}</div>' for d in details if d)
    return f'<div class="card {cls}"><div class="label">{label}</div><div class="value">{value}</div>{det}</div>'


# ---------------------------------------------------------------- sections


def _header(r: dict) -> str:
    topo = get(r, "topology", default={})
    run = get(r, "run", default={})
    name = get(topo, "name", default="(unnamed topology)")
    desc = get(topo, "description")
    years = simulated_years(run)
    facts = []
    if get(run, "failures_injected") is not None:
        facts.append(f"<span><b>{format_count(run['failures_injected'])}</b> failures injected</span>")
    if years is not None:
        hist = get(run, "histories")
        extra = f" in {format_count(hist)} histories" if hist is not None else ""
        facts.append(f"<span><b>{format_number(years)}</b> simulated years{extra}</span>")
    if get(run, "seed") is not None:
        facts.append(f"<span>seed <b>{esc(run['seed'])}</b></span>")
    if get(run, "wall_seconds") is not None:
        jobs = get(run, "jobs")
        extra = f" on {format_count(jobs)} job{'s' if num(jobs) != 1 else ''}" if jobs is not None else ""
        facts.append(f"<span><b>{format_number(run['wall_seconds'])} s</b> wall time{extra}</span>")
    shape = []
    if get(topo, "etcd_topology"):
        shape.append(f"{esc(topo['etcd_topology'])} etcd")
    for key, word in (("members", "members"), ("workers", "workers"), ("pods", "pods")):
        if get(topo, key) is not None:
            shape.append(f"{format_count(topo[key])} {word}")
    if shape:
        facts.append(f"<span>{', '.join(shape)}</span>")
    if get(topo, "source"):
        facts.append(f'<span>from <code>{esc(topo["source"])}</code></span>')
    if get(topo, "sha256"):
        facts.append(f'<span>sha256 <code title="{esc(topo["sha256"])}">{esc(str(topo["sha256"])[:12])}…</code></span>')
    partial = ""
    if get(run, "partial"):
        partial = (
            '<div class="partial">PARTIAL RUN: the run was interrupted. The numbers below cover only the '
            "histories that completed and are less certain than a full run.</div>"
        )
    desc_html = f'<p class="lead">{esc(desc)}</p>' if desc else ""
    return (
        f'<header><div class="muted" style="font-size:13px;font-weight:600;letter-spacing:.05em">'
        f"KCHAOS AVAILABILITY REPORT</div><h1>{esc(name)}</h1>{desc_html}{partial}"
        f'<div class="facts">{"".join(facts)}</div></header>'
    )


def _cards(r: dict) -> str:
    cp = get(r, "control_plane", default={})
    load = get(r, "load", default={})
    run = get(r, "run", default={})
    cards = []

    avail = get(cp, "availability", default={})
    a = get(avail, "estimate")
    details = []
    if get(avail, "ci95"):
        details.append("95% interval " + format_availability_interval_distinct(avail["ci95"]))
    if get(avail, "method") == "control-variate":
        details.append("exact quorum loss + simulated elections")
        mc = get(avail, "monte_carlo", "estimate")
        if mc is not None:
            details.append("simulation alone " + format_availability(mc))
    elif get(avail, "analytic") is not None:
        details.append("analytic " + format_availability(avail["analytic"]))
    cards.append(_card("API availability (writes accepted)", _avail_value(a), details, "primary"))

    down = get(cp, "downtime_minutes_per_year", default={})
    details = []
    if get(down, "ci95"):
        details.append("95% interval " + format_interval_distinct(down["ci95"]) + " min")
    outages = get(cp, "outages", default={})
    if get(outages, "count") is not None:
        ql = get(outages, "quorum_losses")
        details.append(f"{format_count(outages['count'])} outages in the run"
                       + (f", {format_count(ql)} quorum loss{'' if ql == 1 else 'es'}" if ql is not None else ""))
    value = format_number(get(down, "estimate"), "") if get(down, "estimate") is not None else "n/a"
    cards.append(_card("API downtime per year", f"{value} <small>min/year</small>" if value != "n/a" else value,
                       details, "primary"))

    qa = get(cp, "quorum_availability", default={})
    q = get(qa, "estimate")
    details = []
    if get(qa, "exact") is not None:  # the exact answer leads; the simulation is its check
        details.append("exact (closed form); simulated " + format_availability(q))
        q = qa["exact"]
    if get(qa, "ci95"):
        details.append("simulated 95% interval " + format_availability_interval(qa["ci95"]))
    members, quorum, tol = get(cp, "members"), get(cp, "quorum"), get(cp, "tolerates")
    if members is not None:
        text = f"<b>{format_count(members)} member{'' if num(members) == 1 else 's'}</b>"
        text += f" · quorum {format_count(quorum)}" if quorum is not None else ""
        text += f" · tolerates {format_count(tol)} down" if tol is not None else ""
        details.append(text)
    cards.append(_card("etcd quorum availability", _avail_value(q), details))

    le = get(cp, "leader_elections", default={})
    count = get(le, "count")
    if count is not None:
        years = simulated_years(run)
        details = []
        if num(count):
            details.append(f"write gap mean {format_ms(get(le, 'mean_ms'))} · p99 {format_ms(get(le, 'p99_ms'))}")
        else:
            details.append("no leader was lost in the run")
        if years and num(count) is not None:
            details.append(f"≈ {format_number(num(count) / years)} per year")
        cards.append(_card("Leader elections", format_count(count), details))

    wc = get(cp, "write_commit_ms", default={})
    if get(wc, "p50") is not None or get(wc, "p99") is not None:
        details = [f"mean {format_ms(wc['mean'])}"] if get(wc, "mean") is not None else []
        cards.append(_card("Write commit latency",
                           f"{format_ms(get(wc, 'p50'))} <small>p50</small> · "
                           f"{format_ms(get(wc, 'p99'))} <small>p99</small>",
                           details))

    mu = get(load, "max_node_utilization", default={})
    if mu:
        limit = get(load, "limit")
        details = [f"max {format_percent(get(mu, 'max'))} · p50 {format_percent(get(mu, 'p50'))}"]
        if get(load, "baseline_max_node_utilization") is not None:
            details.append(f"before any failure {format_percent(load['baseline_max_node_utilization'])}"
                           + (f" · limit {format_percent(limit)}" if limit is not None else ""))
        p95 = get(mu, "p95")
        hot = num(limit) is not None and num(p95) is not None and num(p95) > num(limit)
        val = f'<span class="{"hot" if hot else ""}">{format_percent(p95)}</span> <small>p95</small>'
        cards.append(_card("Hottest node after failures", val, details))

    if get(load, "time_above_limit") is not None:
        limit = get(load, "limit")
        label = f"Time any node is above {format_percent(limit)}" if limit is not None else "Time above the limit"
        share = num(load["time_above_limit"])
        if share:
            value = f"{significant(share * 100)}% <small>of the time</small>"
            hours = share * HOURS_PER_YEAR
            details = [f"≈ {format_number(hours, 'h') if hours >= 1 else format_number(hours * 60, 'min')} a year"]
        else:
            value, details = "never", ["no node went above the limit"]
        cards.append(_card(label, value, details))

    pp = get(load, "pending_pods", default={})
    if pp:
        years = simulated_years(run)
        details = []
        if get(pp, "max") is not None:
            details.append(f"at most {format_count(pp['max'])} pending at once")
        if years and num(get(pp, "pod_hours")) is not None:
            details.append(f"≈ {format_number(num(pp['pod_hours']) / years)} pod-hours per simulated year")
        cards.append(_card("Pending pod-hours (whole run)", format_number(get(pp, "pod_hours")), details))

    workloads = get(r, "workloads", default=[])
    wl_cards = []
    for w in workloads if isinstance(workloads, list) else []:
        if not isinstance(w, dict):
            continue
        av = get(w, "availability", default={})
        est = get(av, "estimate")
        details = []
        if get(av, "ci95"):
            details.append("95% interval " + format_availability_interval(av["ci95"]))
        dm = get(w, "downtime_minutes_per_year", default={})
        if get(dm, "estimate") is not None:
            details.append(f"{format_minutes(dm['estimate'])} down per year")
        shape = []
        if get(w, "replicas") is not None:
            shape.append(f"{format_count(w['replicas'])} replicas")
        if get(w, "min_available") is not None:
            shape.append(f"needs {format_count(w['min_available'])}")
        if shape:
            details.append(", ".join(shape))
        kind = f" <small>({esc(w['kind'])})</small>" if get(w, "kind") else ""
        wl_cards.append(_card(f"{esc(get(w, 'name', default='?'))}{kind}", _avail_value(est), details, "workload"))

    out = f'<div class="cards">{"".join(cards)}</div>'
    if wl_cards:
        out += f'<div class="subhead">Workload availability</div><div class="cards">{"".join(wl_cards)}</div>'
    return _section("headline", "Headline", out,
                    "Availability is the share of time the thing worked; nines = −log10(1 − availability).")


def _avail_value(a: Any) -> str:
    if num(a) is None:
        return "n/a"
    if num(a) >= 1:
        return "100% <small>· no downtime observed</small>"
    return f"{format_availability(a)} <small>· {format_nines(a)}</small>"


def _slo_target(check: dict, value: Any) -> str:
    unit = str(get(check, "unit", default="")).lower()
    name = str(get(check, "name", default="")).lower()
    if unit in ("utilization", "utilisation", "fraction") or "util" in name:
        return format_percent(value, 1)
    return format_availability(value)


def _slo(r: dict) -> str:
    slo = get(r, "slo")
    if not isinstance(slo, dict) or not get(slo, "checks"):
        return ""
    overall = get(slo, "passed")
    badge = ('<span class="badge b-pass">ALL TARGETS MET</span>' if overall
             else '<span class="badge b-fail">TARGET MISSED</span>' if overall is not None else "")
    rows = []
    for c in _as_list(slo["checks"]):
        if not isinstance(c, dict):
            continue
        util = "util" in str(get(c, "name", default="")).lower() or str(get(c, "unit", default="")).lower() in (
            "utilization", "utilisation")
        op = "≤" if util else "≥"
        passed, confirmed = get(c, "passed"), get(c, "confirmed")
        if passed and confirmed is False:
            need = get(c, "failures_to_confirm")
            verdict = '<span class="badge b-warn">PASS, NOT YET CONFIRMED</span>'
            if need is not None:
                verdict += (f'<div class="muted" style="font-size:12px">needs ≈ {format_count(need)} '
                            "failures to confirm</div>")
        elif passed:
            verdict = '<span class="badge b-pass">PASS</span>'
        elif passed is None:
            verdict = '<span class="badge b-info">NO VERDICT</span>'
        else:
            verdict = '<span class="badge b-fail">FAIL</span>'
            if confirmed is False:
                need = get(c, "failures_to_confirm")
                verdict += '<div class="muted" style="font-size:12px">not yet confirmed'
                verdict += f"; needs ≈ {format_count(need)} failures" if need is not None else ""
                verdict += "</div>"
        ci = get(c, "ci95")
        ci_txt = ""
        if ci:
            ci_txt = (format_interval(ci, lambda x: format_percent(x, 1)) if util
                      else format_availability_interval_distinct(ci))
        rows.append(
            f"<tr class=\"{'bad' if passed is False else ''}\"><td><code>{esc(get(c, 'name', default='?'))}</code></td>"
            f"<td class=\"num\">{op} {_slo_target(c, get(c, 'target'))}</td>"
            f"<td class=\"num\">{_slo_target(c, get(c, 'estimate'))}</td>"
            f"<td class=\"num\">{ci_txt or '—'}</td><td>{verdict}</td></tr>"
        )
    table = ("<table><thead><tr><th>target</th><th class=\"num\">required</th><th class=\"num\">estimate</th>"
             "<th class=\"num\">95% interval</th><th>verdict</th></tr></thead><tbody>"
             + "".join(rows) + "</tbody></table>")
    return _section("slo", "SLO verdicts", table,
                    "What <code>kchaos check</code> gates on. A target inside the interval is met by the estimate "
                    "but not yet statistically confirmed.", badge)


def _advisories(r: dict) -> str:
    adv = get(r, "advisories", default=[])
    items = []
    order = {"error": 0, "warning": 1, "info": 2}
    adv = [a for a in adv if isinstance(a, dict)] if isinstance(adv, list) else []
    for a in sorted(adv, key=lambda a: order.get(str(get(a, "severity", default="info")), 3)):
        sev = str(get(a, "severity", default="info"))
        cls = {"error": "b-fail", "warning": "b-warn"}.get(sev, "b-info")
        items.append(
            f'<li class="{esc(sev)}"><span class="badge {cls}">{esc(sev.upper())}</span>'
            f'<span>{esc(get(a, "message", default=""))} '
            f'<code class="code muted">{esc(get(a, "code", default=""))}</code></span></li>'
        )
    body = (f'<ul class="advisories">{"".join(items)}</ul>' if items
            else _empty("No advisories: nothing in the layout or timing looks risky."))
    n_warn = sum(1 for a in adv if get(a, "severity") in ("warning", "error"))
    badge = f'<span class="badge b-warn">{n_warn} warning{"s" if n_warn != 1 else ""}</span>' if n_warn else ""
    return _section("advisories", "Advisories", body, "", badge)


def _topology(r: dict, figs: _Figures) -> str:
    tree = get(r, "topology", "tree", default=[])
    rows = [t for t in tree if isinstance(t, dict) and get(t, "id") is not None] if isinstance(tree, list) else []
    if not rows:
        return _section("topology", "Topology", _empty("The results file carries no topology tree."))
    ids = {str(t["id"]) for t in rows}
    root_id = "kchaos-root"
    while root_id in ids:
        root_id += "_"
    topo_name = get(r, "topology", "name", default="cluster")
    f_ids, f_parents, f_labels, f_colours, f_hover = [root_id], [""], [esc(topo_name)], ["#ffffff"], [
        f"<b>{esc(topo_name)}</b>"]
    by_id = {}
    roles_seen = set()
    for t in rows:
        tid = str(t["id"])
        if tid in by_id:
            continue
        by_id[tid] = t
        parent = str(get(t, "parent", default=""))
        kind = str(get(t, "kind", default=""))
        role = get(t, "role")
        members = num(get(t, "members")) or 0
        nodes = num(get(t, "nodes")) or 0
        if kind == "node" or role:
            role = str(role or ("control-plane" if members else "worker"))
            colour = ROLE_COLOURS.get(role, "#0d9488")
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
        layout=_base_layout(margin=dict(l=10, r=10, t=10, b=10)),
    )
    plot = figs.add(fig, 640)
    legend = ['<span><span class="swatch" style="background:%s"></span>%s</span>' % (c, k)
              for k, c in LEVEL_COLOURS.items()]
    legend.append(f'<span><span class="swatch" style="background:{EMPTY_SERVER};border:1px solid #bcccdc"></span>'
                  "server without nodes</span>")
    for role in ("control-plane", "etcd", "apiserver", "worker"):
        if role in roles_seen:
            label = {"control-plane": "control-plane node (etcd member)", "etcd": "etcd node",
                     "apiserver": "apiserver node", "worker": "worker node"}[role]
            legend.append(f'<span><span class="swatch" style="background:{ROLE_COLOURS[role]}"></span>{label}</span>')

    placements = []
    for tid, t in by_id.items():
        if get(t, "kind") == "node" and (num(get(t, "members")) or 0) > 0:
            path, cur, seen = [], get(t, "parent"), set()
            while cur and cur in by_id and cur not in seen:
                seen.add(cur)
                path.append(esc(get(by_id[cur], "name", default=cur)))
                cur = get(by_id[cur], "parent")
            placements.append(f"<tr><td><b>{esc(get(t, 'name', default=tid))}</b></td>"
                              f"<td>{' › '.join(reversed(path))}</td></tr>")
    where = ""
    if placements:
        where = ('<div class="subhead">Where the etcd members sit</div><table><thead><tr><th>member</th>'
                 "<th>region › datacenter › rack › server</th></tr></thead><tbody>"
                 + "".join(placements) + "</tbody></table>")
    side = f'<div><div class="legend" style="flex-direction:column">{"".join(legend)}</div>{where}</div>'
    body = f'<div class="topo">{plot}{side}</div>'
    return _section("topology", "Topology", body,
                    "Rings from the centre: region, datacenter, rack, server, node. Click a sector to zoom in; "
                    "hover for etcd members and pods.")


def _domain_sort_key(d: dict) -> tuple:
    return (
        0 if get(d, "quorum_lost") else 1,
        -(num(get(d, "pods_displaced")) or 0),
        -len(_as_list(get(d, "workloads_unavailable"))),
        -(num(get(d, "pods_pending")) or 0),
        -(num(get(d, "members_lost")) or 0),
        -(num(get(d, "nodes_lost")) or 0),
        str(get(d, "id", default="")),
    )


def _blast_radius(r: dict) -> str:
    domains = get(r, "domains", default=[])
    domains = [d for d in domains if isinstance(d, dict)] if isinstance(domains, list) else []
    if not domains:
        return _section("blast-radius", "Blast radius", _empty("No failure domains in the results."))
    limit = num(get(r, "load", "limit"))
    domains = sorted(domains, key=_domain_sort_key)
    shown = domains[:MAX_DOMAIN_ROWS]
    rows = []
    for d in shown:
        kind = str(get(d, "kind", default=""))
        did = str(get(d, "id", default=""))
        name = did[len(kind) + 1:] if kind and did.startswith(kind + "/") else did
        ql = get(d, "quorum_lost")
        util = num(get(d, "max_node_utilization"))
        util_cls = "num hot" if util is not None and limit is not None and util > limit else "num"
        wu_txt = ", ".join(esc(w) for w in _as_list(get(d, "workloads_unavailable")))
        cell = lambda key: format_count(get(d, key)) if get(d, key) is not None else "—"
        ql_txt = '<span class="badge b-fail">YES</span>' if ql else ("no" if ql is not None else "—")
        wu_cell = f'<span class="hot">{wu_txt}</span>' if wu_txt else "—"
        rows.append(
            f"<tr class=\"{'bad' if ql else ''}\"><td><b>{esc(name)}</b></td><td>{esc(kind)}</td>"
            f"<td class=\"num\">{cell('failures')}</td>"
            f"<td>{ql_txt}</td>"
            f"<td class=\"num\">{cell('members_lost')}</td><td class=\"num\">{cell('nodes_lost')}</td>"
            f"<td class=\"num\">{cell('pods_displaced')}</td><td class=\"num\">{cell('pods_pending')}</td>"
            f"<td class=\"{util_cls}\">{format_percent(util) if util is not None else '—'}</td>"
            f"<td>{wu_cell}</td></tr>"
        )
    more = ""
    if len(domains) > len(shown):
        more = (f'<p class="muted" style="margin-top:8px">{format_count(len(domains) - len(shown))} more domains '
                f"not shown (less severe); all {format_count(len(domains))} are in results.json.</p>")
    table = (
        "<table><thead><tr><th>domain</th><th>kind</th><th class=\"num\">failures in the run</th>"
        "<th>quorum lost</th><th class=\"num\">members lost</th><th class=\"num\">nodes lost</th>"
        "<th class=\"num\">pods displaced</th><th class=\"num\">pods pending</th>"
        "<th class=\"num\">hottest node after</th><th>workloads unavailable</th></tr></thead><tbody>"
        + "".join(rows) + "</tbody></table>" + more
    )
    return _section("blast-radius", "Blast radius", table,
                    "What the failure of each domain on its own costs. Worst first: domains that lose etcd quorum, "
                    "then by pods displaced.")


def _distributions(r: dict, figs: _Figures) -> str:
    cp = get(r, "control_plane", default={})
    le = get(cp, "leader_elections", default={})
    parts = []
    fig = _histogram_figure(get(le, "histogram"), x_title="writes unavailable during the election (ms)",
                            fmt=format_ms, colour=ORANGE)
    if fig is not None:
        title = "Leader elections: write gap"
        if get(le, "p50_ms") is not None or get(le, "p99_ms") is not None:
            title += f" <small>p50 {format_ms(get(le, 'p50_ms'))} · p99 {format_ms(get(le, 'p99_ms'))}"
            if get(le, "count") is not None:
                title += f" · {format_count(get(le, 'count'))} elections"
            title += "</small>"
        parts.append(figs.add(fig, 300, title))
    else:
        note = ("No leader elections happened in the run." if num(get(le, "count")) == 0
                else "No election gap histogram in the results.")
        parts.append(f'<div><h3 class="plot-title">Leader elections: write gap</h3>{_empty(note)}</div>')
    workloads = get(r, "workloads", default=[])
    for w in workloads if isinstance(workloads, list) else []:
        if not isinstance(w, dict):
            continue
        rec = get(w, "recovery_seconds", default={})
        name = esc(get(w, "name", default="?"))
        title = f"Recovery: {name}"
        if get(w, "kind"):
            title += f" <small>({esc(w['kind'])})</small>"
        if get(rec, "p50") is not None or get(rec, "p99") is not None:
            title += f" <small>p50 {format_seconds(get(rec, 'p50'))} · p99 {format_seconds(get(rec, 'p99'))}</small>"
        fig = _histogram_figure(get(rec, "histogram"), x_title="time until the lost replicas are ready again",
                                fmt=format_duration, colour="#0d9488")
        if fig is not None:
            parts.append(figs.add(fig, 300, title))
        else:
            parts.append(f'<div><h3 class="plot-title">{title}</h3>{_empty("No recoveries recorded.")}</div>')
    body = f'<div class="grid2">{"".join(parts)}</div>'
    return _section("distributions", "Elections and recovery times", body,
                    "How long writes stop when the etcd leader is lost, and how long each workload's lost "
                    "replicas take to be ready again.")


def _load(r: dict, figs: _Figures) -> str:
    load = get(r, "load", default={})
    limit = num(get(load, "limit"))
    fig = _histogram_figure(
        get(load, "max_node_utilization", "histogram"),
        x_title="hottest node utilisation (requested / capacity)",
        fmt=lambda x: f"{x:.0f}%", colour=BLUE, scale=100.0,
        vline=(limit * 100, f"limit {limit:.0%}") if limit is not None else None,
    )
    if fig is None:
        return _section("load", "Hottest node after failures", _empty("No utilisation histogram in the results."))
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
    sub = ("After every failure or repair, once scheduling settles, the most loaded worker's utilisation "
           "(the larger of cpu and memory requests over capacity).")
    if get(load, "time_above_limit") is not None and limit is not None:
        share = num(load["time_above_limit"])
        sub += (f" Some node sits above {limit:.0%} for {esc(format_fraction_of_time(share))}." if share
                else f" No node went above {limit:.0%}.")
    mu = get(load, "max_node_utilization", default={})
    title = "Hottest node's utilisation after each change of state"
    title += (f" <small>p50 {format_percent(get(mu, 'p50'))} · p95 {format_percent(get(mu, 'p95'))}"
              f" · max {format_percent(get(mu, 'max'))}</small>")
    return _section("load", "Hottest node after failures", figs.add(fig, 320, title), sub)


def _commit(r: dict, figs: _Figures) -> str:
    wc = get(r, "control_plane", "write_commit_ms", default={})
    fig = _histogram_figure(get(wc, "histogram"), x_title="commit latency (ms)", fmt=format_ms, colour=PURPLE)
    if fig is None:
        return _section("commit", "Write commit latency", _empty("No commit latency histogram in the results."))
    title = "Write commit latency over time"
    if get(wc, "mean") is not None:
        title += f" <small>mean {format_ms(wc['mean'])}</small>"
    return _section("commit", "Write commit latency", figs.add(fig, 300, title),
                    "Round trip from the leader to the member that completes its quorum, plus fsync. "
                    f"p50 {format_ms(get(wc, 'p50'))}, p99 {format_ms(get(wc, 'p99'))}.")


def _convergence(r: dict, figs: _Figures) -> str:
    conv = get(r, "convergence", default={})
    xs = get(conv, "failures", default=[])
    ys = get(conv, "unavailability", default=[])
    if not isinstance(xs, list) or not isinstance(ys, list) or not xs or len(xs) != len(ys):
        return _section("convergence", "Convergence", _empty("No convergence series in the results."))

    def positive(seq: Any) -> list[float | None]:
        seq = seq if isinstance(seq, list) and len(seq) == len(xs) else [None] * len(xs)
        return [v if (v := num(x)) is not None and 0 < v < math.inf else None for x in seq]

    y, lo, hi = positive(ys), positive(get(conv, "ci_low")), positive(get(conv, "ci_high"))
    x = [v if (v := num(f)) is not None and math.isfinite(v) else None for f in xs]
    traces = []
    if any(v is not None for v in hi):
        lo_filled = [l if l is not None else (yy if yy is not None else None) for l, yy in zip(lo, y)]
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
        return _section("convergence", "Convergence",
                        _empty("No API downtime observed at any point of the run, so there is nothing to draw "
                               "on a log scale."))
    values = [v for v in y + lo + hi + [exact] if v is not None and v > 0]
    k_lo, k_hi = math.floor(math.log10(min(values))), math.ceil(math.log10(max(values)))
    tickvals = [10.0 ** k for k in range(k_lo, k_hi + 1)]
    ticktext = [f"1e{k} · {-k} nines" if k < 0 else f"1e{k}" for k in range(k_lo, k_hi + 1)]
    layout = _base_layout(
        showlegend=True,
        legend=dict(orientation="h", x=0, xanchor="left", y=1.0, yanchor="bottom"),
        xaxis=dict(title=dict(text="failures injected"), type="log" if log_x else "linear",
                   **({"dtick": "D2"} if log_x else {})),
        yaxis=dict(title=dict(text="unavailability (log scale)"), type="log", tickvals=tickvals, ticktext=ticktext,
                   range=[k_lo, k_hi]),  # whole decades, so a narrow band still has labelled ticks
        hovermode="closest",
        margin=dict(l=60, r=20, t=40, b=50),
    )
    fig = go.Figure(traces, layout=layout)
    title = "API unavailability (1 − availability) as failures accumulate"
    return _section("convergence", "Convergence", figs.add(fig, 380, title),
                    "The estimate should settle as failures accumulate and its interval should narrow; a jump "
                    "means a rare, costly event (such as a region failure) happened. Points with no downtime yet "
                    "cannot be drawn on a log axis.")


def _footer(r: dict) -> str:
    version = get(r, "kchaos_version", default="unknown")
    schema = get(r, "schema")
    return (
        f"<footer><h3>How to read this</h3><p>{esc(ASSUMPTIONS)}</p>"
        f"<p>Generated by kchaos {esc(version)}"
        + (f" · results schema <code>{esc(schema)}</code>" if schema else "")
        + " · the same numbers are in results.json next to this page.</p></footer>"
    )


def render_html(results: dict) -> str:
    """The whole report page for one results document, as a self-contained HTML string."""
    r = results if isinstance(results, dict) else {}
    figs = _Figures()
    body = "".join([
        _header(r),
        _cards(r),
        _slo(r),
        _advisories(r),
        _topology(r, figs),
        _blast_radius(r),
        _distributions(r, figs),
        _load(r, figs),
        _commit(r, figs),
        _convergence(r, figs),
        _footer(r),
    ])
    title = f"kchaos: {get(r, 'topology', 'name', default='report')}"
    return (
        "<!DOCTYPE html>\n<html lang=\"en\"><head><meta charset=\"utf-8\">"
        "<meta name=\"viewport\" content=\"width=device-width, initial-scale=1\">"
        f"<title>{esc(title)}</title><style>{CSS}</style>"
        f"<script>{plotly_bundle()}</script></head>"
        f"<body><main>{body}</main>{figs.script()}</body></html>\n"
    )


__all__ = ["render_html", "plotly_bundle", "esc", "MAX_DOMAIN_ROWS"]
