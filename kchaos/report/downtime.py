"""The run report's "where the downtime comes from" and "fix first" sections, from results.json's
``attribution`` and ``importance``."""

from __future__ import annotations


import plotly.graph_objects as go

from kchaos.report.figures import FigureSet, base_layout, esc
from kchaos.report.formatting import get, minutes_figure, num

#: Causes drawn in their own colour; the rest of a run's causes share "other causes".
MAX_CAUSES = 9
PALETTE = ("#2563eb", "#ea580c", "#7c3aed", "#0d9488", "#dc2626", "#ca8a04", "#db2777", "#4b5563", "#16a34a")
OTHER = "other causes"
FIX_FIRST_ROWS = 10
#: Causes listed per quantity; the rest are summed in one line.
MAX_TABLE_ROWS = 8


def attribution_figure(r: dict) -> go.Figure | None:
    """One horizontal bar per quantity (the API, each workload), stacked by cause, in minutes
    per year; the causes with the most minutes over all bars get their own colour."""
    att = get(r, "attribution", default={})
    bars: list[tuple[str, list[dict]]] = [("API", get(att, "api", default=[]) or [])]
    for name, rows in (get(att, "workloads", default={}) or {}).items():
        bars.append((f"workload {name}", rows or []))
    bars = [(label, rows) for label, rows in bars if any(num(x.get("minutes_per_year")) for x in rows)]
    if not bars:
        return None
    weight: dict[str, float] = {}
    for _, rows in bars:
        for x in rows:
            weight[x["cause"]] = weight.get(x["cause"], 0.0) + (num(x.get("minutes_per_year")) or 0.0)
    ranked = sorted(weight, key=lambda c: -weight[c])
    named = ranked[:MAX_CAUSES] if len(ranked) <= MAX_CAUSES else ranked[:MAX_CAUSES - 1]
    labels = [label for label, _ in bars][::-1]
    fig = go.Figure()
    for i, cause in enumerate([*named, OTHER] if len(ranked) > len(named) else named):
        values = []
        for _, rows in bars[::-1]:
            if cause == OTHER:
                values.append(sum(num(x.get("minutes_per_year")) or 0.0 for x in rows if x["cause"] not in named))
            else:
                values.append(sum(num(x.get("minutes_per_year")) or 0.0 for x in rows if x["cause"] == cause))
        fig.add_trace(go.Bar(
            y=[esc(v) for v in labels], x=values, orientation="h", name=esc(cause),
            marker_color=PALETTE[i % len(PALETTE)] if cause != OTHER else "#cbd2d9",
            hovertemplate=esc(cause) + "<br>%{y}: %{x:.3g} min/year<extra></extra>"))
    fig.update_layout(**base_layout(barmode="stack", showlegend=True,
                                    legend=dict(orientation="h", yanchor="top", y=-0.18, x=0),
                                    margin=dict(l=140, r=20, t=10, b=40),
                                    xaxis=dict(rangemode="tozero", ticksuffix=" min")))
    return fig


def downtime(r: dict, figs: FigureSet) -> dict:
    """The stacked bars and, per quantity, its causes in a table (largest first)."""
    fig = attribution_figure(r)
    att = get(r, "attribution", default={})
    tables = []
    api_rows = get(att, "api", default=[]) or []
    if api_rows:
        tables.append({"title": "API", "rows": api_rows})
    for name, rows in (get(att, "workloads", default={}) or {}).items():
        if rows:
            tables.append({"title": f"workload {name}", "rows": rows})
    for t in tables:
        rows, rest = t["rows"][:MAX_TABLE_ROWS], t["rows"][MAX_TABLE_ROWS:]
        t["rows"] = [{"cause": x["cause"], "minutes": minutes_figure(x.get("minutes_per_year")),
                      "interval": f"{minutes_figure(get(x, 'ci95', 0))} – {minutes_figure(get(x, 'ci95', 1))}"}
                     for x in rows]
        if rest:
            t["rows"].append({"cause": f"{len(rest)} more causes (all in results.json)",
                              "minutes": minutes_figure(sum(num(x.get("minutes_per_year")) or 0.0 for x in rest)),
                              "interval": ""})
    height = 170 + 46 * (1 + len((get(att, "workloads", default={}) or {})))
    return {"figure": figs.add(fig, height, ["Downtime by cause, minutes per year"]) if fig is not None else None,
            "tables": tables}


def fix_first(r: dict) -> dict:
    """The ten failure domains whose hardening (never failing) would save the most minutes per year."""
    rows = []
    for x in (get(r, "importance", default=[]) or [])[:FIX_FIRST_ROWS]:
        total = num(x.get("total_minutes_per_year_saved"))
        if not total or total <= 0:
            continue
        wl = x.get("workload_minutes_per_year_saved") or {}
        top = sorted(((n, num(v) or 0.0) for n, v in wl.items()), key=lambda kv: -kv[1])
        rows.append({
            "domain": x.get("domain", ""), "kind": x.get("kind", ""),
            "api": minutes_figure(x.get("api_minutes_per_year_saved")),
            "api_interval": f"{minutes_figure(get(x, 'ci95', 'api', 0))} – {minutes_figure(get(x, 'ci95', 'api', 1))}",
            "workloads": ", ".join(f"{n} {minutes_figure(v)}" for n, v in top if v > 0) or "—",
            "total": minutes_figure(total),
        })
    return {"rows": rows}
