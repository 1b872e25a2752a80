"""The `kchaos plan` page: the user's layout and the recommended one side by side.

Rendered from templates/plan.html with the run report's look and machinery (one
self-contained file, autoescape, the inlined plotly bundle). The data is plan.json's
document (:func:`kchaos.plan.write.plan_document`).
"""

from __future__ import annotations

import plotly.graph_objects as go

from kchaos.report.figures import BLUE, GREEN, RED, FigureSet, base_layout, esc
from kchaos.report.formatting import (format_availability, format_availability_interval_distinct, format_count,
                                      get, minutes_figure)
from kchaos.report.inline import b, badge, code
from kchaos.topology.units import format_setting
from kchaos.report.page import render_page
from kchaos.report.plan_terminal import ranked

#: Domains drawn in the load chart per level (the hottest after the plan first).
MAX_CHART_DOMAINS = 40


def _verdict(t: dict | None) -> dict:
    if t is None:
        return {"badge": badge("—", "b-info"), "detail": ""}
    return {"badge": badge("MET", "b-pass") if t["met"] else badge("MISSED", "b-fail"),
            "detail": f"{t['how']}: {t['detail']}"}


def _side(fig: dict | None) -> dict:
    """One column of the headline: the API, each targeted workload, the load."""
    if not fig:
        return {}
    a = fig["api_availability"]
    rows = {"API availability": (format_availability(a["estimate"]),
                                 format_availability_interval_distinct(a["ci95"])),
            "API downtime": (f"{minutes_figure(get(fig, 'api_downtime_minutes_per_year', 'estimate'))} min/year",
                             ""),
            "etcd quorum (exact)": (format_availability(fig["quorum_exact"]) if fig.get("quorum_exact") else "n/a", "")}
    targeted = {ch["name"].split(".", 1)[1] for ch in get(fig, "slo", "checks", default=[])
                if ch["name"].startswith("workloads.")}
    for name, w in fig["workloads"].items():
        if name in targeted:
            rows[f"workload {name}"] = (format_availability(w["availability"]["estimate"]),
                                        format_availability_interval_distinct(w["availability"]["ci95"]))
    rows["hottest node after failures (p95)"] = (f"{100 * fig['hottest_p95']:.0f}%" if fig.get("hottest_p95") is not None
                                                 else "n/a", "")
    rows["most pods Pending at once"] = (format_count(fig["pending_max"]), "")
    return rows


def headline(doc: dict) -> list[dict]:
    before, after = _side(doc.get("before")), _side(doc.get("after"))
    return [{"label": k, "before": before[k][0], "before_ci": before[k][1],
             "after": after.get(k, ("—", ""))[0], "after_ci": after.get(k, ("—", ""))[1],
             "changed": after.get(k, ("—",))[0] != before[k][0]} for k in before]


def targets(doc: dict) -> list[dict]:
    after = {t["target"]: t for t in doc["targets"]["after"]}
    return [{"target": t["target"], "before": _verdict(t), "after": _verdict(after.get(t["target"]))}
            for t in doc["targets"]["before"]]


def moves(doc: dict) -> list[dict]:
    return [{"rank": i, "path": m["path"], "from": format_setting(m["from"]), "to": format_setting(m["to"]),
             "cost": "free" if m["cost"] == 0 else f"{m['cost']:g}", "why": m["why"], "gain": m.get("gain") or "",
             "saved": minutes_figure(m["saved_minutes_per_year"]) if m.get("saved_minutes_per_year") else "—",
             "fewer": m.get("one_fewer") or ""}
            for i, m in enumerate(ranked(doc["moves"]), 1)]


def _loss(x: dict) -> dict:
    return {"ok": x["survived"], "quorum": "lost" if x["quorum_lost"] else "kept",
            "pending": format_count(x["pods_pending"]), "hottest": f"{100 * x['hottest']:.0f}%",
            "below": ", ".join(x["workloads_unavailable"]) or "—", "why": "; ".join(x["reasons"])}


def domain_losses(doc: dict, figs: FigureSet, limit: float | None) -> list[dict]:
    """Per level: every domain's settled loss before and after, and a chart of the hottest
    surviving node after each loss."""
    out = []
    for level, block in (doc.get("domain_losses") or {}).items():
        rows = block["domains"]
        table = [{"domain": r["domain"], "before": _loss(r["before"]), "after": _loss(r["after"])} for r in rows]
        shown = sorted(rows, key=lambda r: -r["before"]["hottest"])[:MAX_CHART_DOMAINS]
        fig = go.Figure()
        names = [esc(r["domain"].split("/", 1)[-1]) for r in shown]
        for label, side, colour in (("before", "before", RED), ("after the plan", "after", BLUE)):
            fig.add_trace(go.Bar(x=names, y=[100 * r[side]["hottest"] for r in shown], name=label,
                                 marker_color=colour if side == "after" else "#f59e8b",
                                 hovertemplate="%{x}: %{y:.0f}%<extra>" + label + "</extra>"))
        shapes = []
        if limit is not None:
            shapes.append(dict(type="line", xref="paper", x0=0, x1=1, y0=100 * limit, y1=100 * limit,
                               line=dict(color=GREEN, width=2, dash="dash")))
        fig.update_layout(**base_layout(barmode="group", showlegend=True, shapes=shapes,
                                        legend=dict(orientation="h", y=1.12, x=0),
                                        yaxis=dict(title=dict(text="hottest surviving node"), ticksuffix="%",
                                                   rangemode="tozero")))
        out.append({"level": level, "rows": table, "target": block["target"],
                     "figure": figs.add(fig, 320, [f"Hottest surviving node after losing each {level}"]
                                        + ([f" (dashed: the {100 * limit:.0f}% limit)"] if limit else []))})
    return out


def header(doc: dict) -> dict:
    search = doc.get("search") or {}
    before = doc.get("before") or {}
    facts = [[b(format_count(len(doc["moves"]))), " moves, total cost ", b(f"{doc['cost']:g}")],
             [b(format_count(search.get("layouts_built", 0))), " layouts screened, ",
              b(format_count(search.get("simulations", 0))), " simulated"],
             [b(format_count(before.get("failures", 0))), " failures per simulation, seed ", b(before.get("seed"))]]
    if get(doc, "topology", "source"):
        facts.append(["from ", code(doc["topology"]["source"])])
    return {"kicker": "KCHAOS PLAN", "title": str(get(doc, "topology", "name", default="plan")),
            "description": "What to change, cheapest first, verified: the layout as it is and as the plan leaves it.",
            "partial": "", "facts": facts}


def render_plan_html(doc: dict) -> str:
    figs = FigureSet()
    limit = next((ch["target"] for ch in get(doc, "before", "slo", "checks", default=[])
                  if ch["name"] == "maxNodeUtilization"), None)
    view = {
        "title": f"kchaos plan: {get(doc, 'topology', 'name', default='plan')}",
        "header": header(doc),
        "verdict": badge("EVERY TARGET MET", "b-pass") if doc["met"] else badge("TARGETS STILL MISSED", "b-fail"),
        "headline": headline(doc),
        "moves": moves(doc),
        "targets": targets(doc),
        "still_missed": doc["still_missed"],
        "losses": domain_losses(doc, figs, limit),
        "version": "",
    }
    return render_page("plan.html", view, figs)


__all__ = ["render_plan_html"]
