"""The run report's "where the downtime comes from" and "fix first" sections, from results.json's
``attribution`` and ``importance``."""

from __future__ import annotations


import plotly.graph_objects as go

from kchaos.report.figures import FigureSet, base_layout, esc
from kchaos.report.formatting import get, minutes_figure, num
from kchaos.topology.units import format_setting
from kchaos.report.reading import largest_in_order

#: Causes drawn in their own colour; the rest of a run's causes share "other causes".
MAX_CAUSES = 9
PALETTE = ("#2563eb", "#ea580c", "#7c3aed", "#0d9488", "#dc2626", "#ca8a04", "#db2777", "#4b5563", "#16a34a")
OTHER = "other causes"
FIX_FIRST_ROWS = 10
#: Causes listed per quantity; the rest are summed in one line.
MAX_TABLE_ROWS = 8
#: Workloads drawn and tabled, the most downtime first (a cluster may run hundreds).
MAX_WORKLOADS = 15
#: Workloads named per fix-first row; the rest are counted.
FIX_FIRST_WORKLOADS = 5


def _minutes(rows: list[dict]) -> float:
    return sum(num(x.get("minutes_per_year")) or 0.0 for x in rows)


def _quantities(r: dict) -> tuple[list[tuple[str, list[dict]]], int]:
    """(label, causes) of the API and of the workloads with the most downtime (at most
    :data:`MAX_WORKLOADS`, in the document's order), and how many workloads with downtime were
    left out."""
    att = get(r, "attribution", default={})
    down = [(name, rows or []) for name, rows in (get(att, "workloads", default={}) or {}).items() if _minutes(rows or [])]
    keep = largest_in_order(down, lambda nr: _minutes(nr[1]), MAX_WORKLOADS)
    out = [("API", get(att, "api", default=[]) or [])] + [(f"workload {name}", rows) for name, rows in keep]
    return [(label, rows) for label, rows in out if _minutes(rows)], len(down) - len(keep)


def attribution_figure(r: dict) -> tuple[go.Figure | None, list[dict]]:
    """One horizontal bar per quantity (the API, each workload), stacked by cause, in minutes
    per year; the causes with the most minutes over all bars get their own colour. The legend
    ({colour, label}, largest cause first) is the page's, not plotly's: plotly's scrolls inside
    a fixed height on a narrow page and hid the largest cause."""
    bars, _ = _quantities(r)
    if not bars:
        return None, []
    weight: dict[str, float] = {}
    for _, rows in bars:
        for x in rows:
            weight[x["cause"]] = weight.get(x["cause"], 0.0) + (num(x.get("minutes_per_year")) or 0.0)
    ranked = sorted(weight, key=lambda c: -weight[c])
    named = ranked[:MAX_CAUSES] if len(ranked) <= MAX_CAUSES else ranked[:MAX_CAUSES - 1]
    labels = [label for label, _ in bars][::-1]
    fig = go.Figure()
    legend = []
    for i, cause in enumerate([*named, OTHER] if len(ranked) > len(named) else named):
        values = []
        for _, rows in bars[::-1]:
            if cause == OTHER:
                values.append(sum(num(x.get("minutes_per_year")) or 0.0 for x in rows if x["cause"] not in named))
            else:
                values.append(sum(num(x.get("minutes_per_year")) or 0.0 for x in rows if x["cause"] == cause))
        colour = PALETTE[i % len(PALETTE)] if cause != OTHER else "#cbd2d9"
        legend.append({"colour": colour, "label": cause})
        fig.add_trace(go.Bar(
            y=[esc(v) for v in labels], x=values, orientation="h", name=esc(cause), marker_color=colour,
            hovertemplate=esc(cause) + "<br>%{y}: %{x:.3g} min/year<extra></extra>"))
    fig.update_layout(**base_layout(barmode="stack", showlegend=False, margin=dict(l=140, r=20, t=10, b=40),
                                    xaxis=dict(rangemode="tozero", ticksuffix=" min")))
    return fig, legend


def _cause_interval(row: dict) -> str:
    """``0.0844 – 0.105``; ``exact`` for the exactly known share of a cause (no Monte Carlo noise)."""
    low, high = num(get(row, "ci95", 0)), num(get(row, "ci95", 1))
    if low is not None and low == high == num(row.get("minutes_per_year")):
        return "exact"
    return f"{minutes_figure(low)} – {minutes_figure(high)}"


def downtime(r: dict, figs: FigureSet) -> dict:
    """The stacked bars and, per quantity, its causes in a table (largest first); a cluster
    with many workloads shows the :data:`MAX_WORKLOADS` with the most downtime."""
    fig, legend = attribution_figure(r)
    quantities, left_out = _quantities(r)
    tables = [{"title": label, "rows": rows} for label, rows in quantities]
    for t in tables:
        rows, rest = t["rows"][:MAX_TABLE_ROWS], t["rows"][MAX_TABLE_ROWS:]
        t["rows"] = [{"cause": x["cause"], "minutes": minutes_figure(x.get("minutes_per_year")),
                      "interval": _cause_interval(x)} for x in rows]
        if rest:
            t["rows"].append({"cause": f"{len(rest)} more causes (all in results.json)",
                              "minutes": minutes_figure(sum(num(x.get("minutes_per_year")) or 0.0 for x in rest)),
                              "interval": ""})
    height = 90 + 46 * len(quantities)
    note = (f"The {len(quantities) - 1} workloads with the most downtime are shown; {left_out} more with downtime "
            f"are in results.json (attribution).") if left_out else ""
    return {"figure": figs.add(fig, height, ["Downtime by cause, minutes per year"]) if fig is not None else None,
            "legend": legend, "tables": tables, "note": note}


def fix_first(r: dict) -> dict:
    """The concrete moves (results.json ``fix_first``), and apart from them the ten failure
    domains whose hardening (never failing) would save the most minutes per year."""
    moves = [{"path": x.get("path", ""), "from": format_setting(x.get("from")), "to": format_setting(x.get("to")),
              "quantity": x.get("quantity", ""), "why": x.get("why", ""),
              "saved": minutes_figure(x.get("minutes_per_year_saved")),
              "interval": f"{minutes_figure(get(x, 'ci95', 0))} – {minutes_figure(get(x, 'ci95', 1))}",
              "cost": "free" if not num(x.get("cost")) else f"{num(x.get('cost')):.3g}",
              "per_cost": minutes_figure(x.get("per_unit_cost")) if x.get("per_unit_cost") is not None else "—"}
             for x in (get(r, "fix_first", default=[]) or [])[:FIX_FIRST_ROWS]]
    rows = []
    for x in get(r, "importance", default=[]) or []:
        # A saving whose interval reaches zero is noise, not advice: shown as "—", left out of the total.
        api = num(x.get("api_minutes_per_year_saved")) or 0.0
        api_real = api > 0 and (num(get(x, "ci95", "api", 0)) or 0.0) > 0
        wl = x.get("workload_minutes_per_year_saved") or {}
        top = sorted(((n, num(v) or 0.0) for n, v in wl.items()
                      if (num(get(x, "ci95", "workloads", n, 0)) or 0.0) > 0), key=lambda kv: -kv[1])
        total = (api if api_real else 0.0) + sum(v for _, v in top if v > 0)
        if total <= 0:
            continue
        rows.append({
            "domain": x.get("domain", ""), "kind": x.get("kind", ""),
            "api": minutes_figure(api) if api_real else "—",
            "api_interval": (f"{minutes_figure(get(x, 'ci95', 'api', 0))} – {minutes_figure(get(x, 'ci95', 'api', 1))}"
                             if api_real else ""),
            "workloads": _named([f"{n} {minutes_figure(v)}" for n, v in top if v > 0]),
            "total": minutes_figure(total), "_total": total,
        })
    rows.sort(key=lambda row: -row.pop("_total"))
    rows = rows[:FIX_FIRST_ROWS]
    return {"moves": moves, "rows": rows}


def _named(items: list[str]) -> str:
    """The first :data:`FIX_FIRST_WORKLOADS` items, and how many more."""
    if not items:
        return "—"
    shown = ", ".join(items[:FIX_FIRST_WORKLOADS])
    return shown + (f" and {len(items) - FIX_FIRST_WORKLOADS} more" if len(items) > FIX_FIRST_WORKLOADS else "")
