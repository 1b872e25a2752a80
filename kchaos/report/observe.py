"""``kchaos observe`` for people: a table in the terminal, a page with both timelines."""

from __future__ import annotations

import plotly.graph_objects as go
from rich.console import Console
from rich.markup import escape
from rich.table import Table

from kchaos.kube.observe import describe
from kchaos.report.figures import BLUE, INK, ORANGE, FigureSet, base_layout, esc
from kchaos.report.inline import badge
from kchaos.report.page import render_page


def _agrees(value) -> str:
    return "yes" if value is True else "NO" if value is False else "-"


def _label(phase: str) -> str:
    return phase.replace("_", " ").replace("unavailable:", "unavailable: ")


def print_observation(doc: dict, console: Console) -> None:
    table = Table(title=f"{escape(doc['domain'])}: predicted and observed", title_justify="left")
    for col, justify in (("phase", "left"), ("predicted", "right"), ("observed", "right"), ("agrees", "left")):
        table.add_column(col, justify=justify)
    for r in doc["phases"]:
        mark = _agrees(r["agrees"])
        table.add_row(escape(_label(r["phase"])), describe(r["predicted_seconds"]), describe(r["observed_seconds"]),
                      f"[red]{mark}[/red]" if mark == "NO" else mark)
    p = doc["pending_pods"]
    table.add_row("pods left Pending", "-" if p["predicted"] is None else f"{p['predicted']:.0f}",
                  "-" if p["observed"] is None else f"{p['observed']:.0f}", _agrees(p["agrees"]))
    console.print(table)
    console.print(f"quorum: predicted {doc['quorum']['predicted']}; events cannot show etcd ({doc['quorum']['note']})")
    if doc["suggestions"]:
        console.print("to make the model match the cluster:")
        for s in doc["suggestions"]:
            console.print(f"  [bold]{escape(s['key'])}: {escape(str(s['value']))}[/bold]  {escape(s['why'])}")
    else:
        console.print("the model and the cluster agree phase by phase: nothing to change")


#: The chain's stretches: (label, phase ending it, colour).
STRETCHES = (("until NotReady", "node_not_ready", "#9fb3c8"), ("toleration, taint queue", "eviction", "#f0b429"),
             ("waiting for room", "scheduling", "#ef4e4e"), ("starting", "pod_start", "#3ebd93"))


def _stretches(doc: dict, key: str) -> list[tuple[str, float, float, str]]:
    """(label, start, end, colour) of the failure's chain as ``key`` (predicted, observed) saw it."""
    ph = {r["phase"]: r[f"{key}_seconds"] for r in doc["phases"]}
    out, t = [], 0.0
    for label, phase, colour in STRETCHES:
        length = ph.get(phase)
        if length is None:
            break
        if phase == "pod_start" and ph.get("recovery") is not None:
            length = max(length, ph["recovery"] - t)  # the last replacement, not the median
        out.append((label, t, t + length, colour))
        t += length
    return out


def _timeline(doc: dict, figs: FigureSet) -> dict:
    """Both chains as bars, stretch by stretch, and every event as a mark (hover for it)."""
    fig = go.Figure()
    for key in ("predicted", "observed"):
        for label, start, end, colour in _stretches(doc, key):
            fig.add_trace(go.Bar(
                y=[key], x=[max(end - start, 0.5)], base=[start], orientation="h", marker=dict(color=colour),
                text=[esc(label)], textposition="inside", insidetextanchor="middle", width=0.5,
                hovertext=[esc(f"{label}: +{start:.0f}s to +{end:.0f}s")], hoverinfo="text"))
    for key, colour in (("predicted", BLUE), ("observed", ORANGE)):
        events = doc["events"][key]
        fig.add_trace(go.Scatter(
            x=[e["t"] for e in events], y=[key] * len(events), mode="markers",
            marker=dict(color=colour, size=7, symbol="line-ns-open", line=dict(width=2, color=INK)),
            hovertext=[esc(f"+{e['t']:.0f}s {e['reason']} {e['object']}: {e['message']}") for e in events],
            hoverinfo="text"))
    fig.update_layout(**base_layout(xaxis=dict(title=dict(text="seconds from the failure")), barmode="overlay",
                                    yaxis=dict(categoryorder="array", categoryarray=["observed", "predicted"])))
    return figs.add(fig, 240)


def render_observation(doc: dict) -> str:
    figs = FigureSet()
    rows = [{"phase": _label(r["phase"]), "predicted": describe(r["predicted_seconds"]),
             "observed": describe(r["observed_seconds"]),
             "agrees": [badge(_agrees(r["agrees"]), {"yes": "b-pass", "NO": "b-fail"}.get(_agrees(r["agrees"]),
                                                                                       "b-info"))]}
            for r in doc["phases"]]
    view = {
        "title": f"kchaos observe: {doc['domain']}",
        "header": {"kicker": "KCHAOS OBSERVE", "title": f"{doc['topology']}: {doc['domain']}",
                   "description": "A drill's events set against what kchaos predicted.", "partial": "",
                   "facts": [[f"failed nodes: {', '.join(doc['failed_nodes']) or 'none'}"]]},
        "timeline": _timeline(doc, figs),
        "rows": rows,
        "quorum": f"Quorum: predicted {doc['quorum']['predicted']}. {doc['quorum']['note']}.",
        "suggestions": doc["suggestions"],
    }
    return render_page("observe.html", view, figs)
